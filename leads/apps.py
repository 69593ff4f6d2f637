from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from leads import consents, stream
        from leads.models import Activity

        stream.register("leads.unsubscribe", consents.on_activity, only={Activity.Kind.UNSUBSCRIBED})
