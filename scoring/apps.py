from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        from leads import merging, stream
        from scoring.ledger import rescore_lead, score_activity

        stream.register("scoring", score_activity)
        merging.register_after_merge("scoring", rescore_lead)
        connection_created.connect(use_re2_for_sqlite_regexp, dispatch_uid="scoring.re2")


def use_re2_for_sqlite_regexp(sender, connection, **kwargs) -> None:
    """SQLite's REGEXP is Python's backtracking `re`; rescoring a marketer's pattern must not hang on it."""
    if connection.vendor != "sqlite":
        return
    from scoring.rules import compile_pattern

    def regexp(pattern: str | None, value: str | None) -> bool | None:
        if pattern is None or value is None:
            return None
        return compile_pattern(pattern).search(str(value)) is not None

    connection.connection.create_function("REGEXP", 2, regexp, deterministic=True)
