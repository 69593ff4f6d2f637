from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Email campaigns")

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns import webhooks

        tracking.connect(webhooks.on_tracking, dispatch_uid="campaigns.webhooks")
