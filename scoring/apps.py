import json

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        from leads import merging, stream
        from leads.models import Activity
        from scoring.ledger import rescore_lead, score_activity

        stream.register("scoring", score_activity, ignores={Activity.Kind.EMAIL_SENT})  # no rule scores it
        merging.register_after_merge("scoring", rescore_lead)
        connection_created.connect(register_sqlite_functions, dispatch_uid="scoring.re2")


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """SQLite runs the rescore's URL and machine tests as the Python of scoring.rules, so both agree exactly.

    Its REGEXP is RE2 too: Python's backtracking `re` could hang on a marketer's pattern.
    """
    if connection.vendor != "sqlite":
        return
    from scoring.rules import compile_pattern, is_machine, url_matches

    def regexp(pattern: str | None, value: str | None) -> bool | None:
        if pattern is None or value is None:
            return None
        return compile_pattern(pattern).search(str(value)) is not None

    def machine(data: str | None) -> bool:
        return is_machine(json.loads(data) if data else None)

    def url_ok(match: str, pattern: str, url: str | None) -> bool:
        return url_matches(match, pattern, url or "")

    connection.connection.create_function("REGEXP", 2, regexp, deterministic=True)
    connection.connection.create_function("scoring_is_machine", 1, machine, deterministic=True)
    connection.connection.create_function("scoring_url_matches", 3, url_ok, deterministic=True)
