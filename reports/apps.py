from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from leads import stream
        from reports import rollup

        stream.register("reports", rollup.on_activity, only=rollup.KINDS, batch=rollup.on_activities)
