from django.db import models
from django.utils.translation import gettext_lazy as _

from leads.models import Activity


class ScoringRule(models.Model):
    """Points given when a lead does something, e.g. "viewed a case-study page: +5"."""

    class UrlMatch(models.TextChoices):
        PREFIX = "prefix", _("starts with")
        CONTAINS = "contains", _("contains")
        REGEX = "regex", _("regular expression")

    name = models.CharField(_("name"), max_length=200, unique=True)
    event_kind = models.CharField(_("event"), max_length=30, choices=Activity.Kind.choices)
    url_match = models.CharField(_("URL match"), max_length=10, choices=UrlMatch.choices, default=UrlMatch.CONTAINS)
    url_pattern = models.CharField(_("URL pattern"), max_length=500, blank=True)
    points = models.IntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"
