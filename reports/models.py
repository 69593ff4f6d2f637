"""The report rollup (exact counts kept as events are processed) and the marketer's KPI targets.

Counting a campaign's events in the activity table takes over a second at 10,000,000 rows
(unique counts and the machine-open flag need the heap), so the stream consumer in
reports/rollup.py keeps these small tables instead; reports add the events not processed yet.
Campaign and lead ids are plain integers, not foreign keys: the rollup is derived data that
`rebuild_report_counts` recomputes from the activity table at any time.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Touch(models.Model):
    """A lead did `kind` on a campaign's email at least once: what makes unique counts exact."""

    campaign_id = models.BigIntegerField()
    lead_id = models.BigIntegerField()
    kind = models.CharField(max_length=30)
    all_events = models.BooleanField(help_text="True: machine opens and scanner clicks count; False: people only")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign_id", "kind", "all_events", "lead_id"], name="report_touch_once")
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} lead {self.lead_id} {self.kind}"


class Counter(models.Model):
    """A campaign's events of one kind: every event (total) and the leads behind them (unique)."""

    campaign_id = models.BigIntegerField()
    kind = models.CharField(max_length=30)
    all_events = models.BooleanField()
    total = models.BigIntegerField(default=0)
    unique = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign_id", "kind", "all_events"], name="report_counter_once")
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} {self.kind}: {self.total} ({self.unique} leads)"


class Conversion(models.Model):
    """A form submit or download, and the latest click on one campaign's email before it (people only)."""

    activity_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    lead_id = models.BigIntegerField()
    kind = models.CharField(max_length=30)
    occurred_at = models.DateTimeField()
    click_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity_id", "campaign_id"], name="report_conversion_once")]
        indexes = [
            models.Index(fields=["campaign_id", "lead_id"], name="report_conversion_campaign"),
            models.Index(fields=["occurred_at"], name="report_conversion_when"),
        ]

    def __str__(self) -> str:
        return f"activity {self.activity_id} via campaign {self.campaign_id}"


class KpiTarget(models.Model):
    """A monthly goal for one of the seed's typical KPIs; having some is readiness condition 6."""

    class Metric(models.TextChoices):
        SEMINAR_SIGNUPS = "seminar_signups", _("Seminar sign-ups via email")
        DOWNLOADS = "downloads", _("Downloads via email")
        MQLS = "mqls", _("Hot leads (MQL) created")
        OPPORTUNITIES = "opportunities", _("Opportunities created (商談化)")
        DEALS = "deals", _("Deals created (案件化)")
        REVENUE = "revenue", _("Revenue from MA (JPY)")

    metric = models.CharField(_("KPI"), max_length=30, choices=Metric.choices, unique=True)
    monthly_target = models.PositiveBigIntegerField(_("monthly target"))
    purpose = models.CharField(_("purpose"), max_length=300, blank=True, help_text=_("Why this KPI matters"))
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["metric"]
        permissions = [("view_reports", _("Can view reports"))]

    def __str__(self) -> str:
        return f"{self.get_metric_display()}: {self.monthly_target}"
