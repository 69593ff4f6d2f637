from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from leads import stream
        from leads.models import Activity
        from sales import webhooks, workspace
        from scoring import alerts

        stream.register("sales.webhooks", webhooks.on_activity, only={Activity.Kind.STAGE_CHANGED})
        # Hot-lead alerts link to the workspace, which sales users (not staff) can open.
        alerts.register_lead_link(workspace.lead_url)
        alerts.register_list_link(workspace.hot_list_url)
