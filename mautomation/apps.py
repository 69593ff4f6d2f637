from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MautomationConfig(AppConfig):
    """Project-wide pieces: system checks, roles, health, and the run/demo commands."""

    name = "mautomation"
    verbose_name = _("mautomation")

    def ready(self) -> None:
        from mautomation import checks, roles  # noqa: F401  (registers the checks)

        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="mautomation.roles")
