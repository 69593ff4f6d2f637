from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Email campaigns")

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns import (
            automation_tasks,  # noqa: F401  (Celery autodiscovers tasks.py only)
            webhooks,
        )
        from campaigns.reactions import on_activity
        from leads import stream
        from leads.models import Activity

        tracking.connect(webhooks.on_tracking, dispatch_uid="campaigns.webhooks")
        stream.register("automation", on_activity, ignores={Activity.Kind.EMAIL_SENT})  # it moves no score
