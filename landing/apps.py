from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LandingConfig(AppConfig):
    name = "landing"
    verbose_name = _("Landing pages and forms")

    def ready(self) -> None:
        from landing import form_cache, page_cache  # noqa: F401  (their signal receivers: edits reach the caches)
