"""Scoring configuration and the score ledger.

A lead's score (Lead.score) is a cache of the sum of its ledger rows; the
ledger says why every point is there and can always rebuild the cache.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import Activity, Company, Lead

# Events a behaviour rule can score; score and stage changes are the scorer's own output.
RULE_EVENTS = [
    (kind, label)
    for kind, label in Activity.Kind.choices
    if kind not in {Activity.Kind.SCORE_CHANGED, Activity.Kind.STAGE_CHANGED, Activity.Kind.EMAIL_SENT}
]
URL_EVENTS = {Activity.Kind.PAGE_VIEW, Activity.Kind.DOWNLOAD, Activity.Kind.EMAIL_CLICKED}
CAMPAIGN_EVENTS = {
    Activity.Kind.EMAIL_OPENED,
    Activity.Kind.EMAIL_CLICKED,
    Activity.Kind.EMAIL_DELIVERED,
    Activity.Kind.EMAIL_BOUNCED,
}


class ScoringRule(models.Model):
    """Points given when a lead does something, e.g. "viewed a case-study page: +5"."""

    class UrlMatch(models.TextChoices):
        PREFIX = "prefix", _("starts with")
        CONTAINS = "contains", _("contains")
        REGEX = "regex", _("regular expression")

    class Frequency(models.TextChoices):
        ONCE = "once", _("once per lead")
        DAILY = "daily", _("once per day")
        EVERY = "every", _("every time")

    name = models.CharField(_("name"), max_length=200, unique=True)
    event_kind = models.CharField(_("event"), max_length=30, choices=RULE_EVENTS)
    url_match = models.CharField(_("URL match"), max_length=10, choices=UrlMatch.choices, default=UrlMatch.CONTAINS)
    url_pattern = models.CharField(_("URL pattern"), max_length=500, blank=True)
    form_id = models.BigIntegerField(_("form id"), null=True, blank=True, help_text=_("Empty: any form"))
    campaign_id = models.BigIntegerField(_("campaign id"), null=True, blank=True, help_text=_("Empty: any campaign"))
    event_name = models.CharField(_("custom event name"), max_length=100, blank=True)
    points = models.IntegerField(_("points"))
    frequency = models.CharField(_("counts"), max_length=10, choices=Frequency.choices, default=Frequency.EVERY)
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Deactivate a rule instead of deleting it; rescore to remove its points."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    def clean(self) -> None:
        from scoring.rules import rule_problems

        problems = rule_problems(self)
        if problems:
            raise ValidationError(problems)


class FitRule(models.Model):
    """Points for who the lead is (like Pardot's grade): title contains 部長, free-mail address, …"""

    class Field(models.TextChoices):
        TITLE = "title", _("job title")
        DEPARTMENT = "department", _("department")
        INDUSTRY = "company__industry", _("industry")
        EMPLOYEES = "company__employees", _("company size (employees)")
        FREE_MAIL = "free_mail", _("free-mail address")

    class Operator(models.TextChoices):
        CONTAINS = "contains", _("contains any of (comma-separated)")
        EQUALS = "equals", _("equals")
        AT_LEAST = "gte", _("at least")
        AT_MOST = "lte", _("at most")
        IS_TRUE = "true", _("is true")

    name = models.CharField(_("name"), max_length=200, unique=True)
    field = models.CharField(_("field"), max_length=30, choices=Field.choices)
    operator = models.CharField(_("condition"), max_length=10, choices=Operator.choices)
    value = models.CharField(_("value"), max_length=500, blank=True)
    points = models.IntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("fit rule")
        verbose_name_plural = _("fit rules")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    def clean(self) -> None:
        from scoring.fit import fit_rule_problems

        problems = fit_rule_problems(self)
        if problems:
            raise ValidationError(problems)


class ScoreEntry(models.Model):
    """One change of a lead's score, with its reason. Append-only.

    `window` makes scoring idempotent and enforces a rule's frequency: it is
    "once" for once-per-lead rules, the local date for daily rules, and the
    activity id for every-time rules, and (lead, rule, window) is unique. A
    redelivered event therefore finds its row already there.
    """

    class Kind(models.TextChoices):
        BEHAVIOUR = "behaviour", _("Behaviour")
        DECAY = "decay", _("Decay")
        EXPIRY = "expiry", _("Expiry")
        MERGE = "merge", _("Merge")
        MANUAL = "manual", _("Manual adjustment")

    # No database constraints on lead, rule and activity: a rescore writes up to a million rows, and
    # the deferred per-row checks cost more than the writes (20 s of a 70 s first build for lead and
    # rule alone). The ORM still cascades (lead), protects (rule) and nulls (activity); the rows come
    # from joins with those tables, and a row orphaned by a concurrent delete goes at the next rescore.
    # No index of its own on lead: score_entry_lead (lead, -created_at) serves every lookup by lead.
    lead = models.ForeignKey(
        Lead, models.CASCADE, related_name="score_entries", db_constraint=False, db_index=False, verbose_name=_("lead")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BEHAVIOUR)
    # PROTECT: a rule with points in ledgers is deactivated, not deleted, so the ledger keeps its reasons.
    rule = models.ForeignKey(
        ScoringRule, models.PROTECT, null=True, blank=True, db_constraint=False, verbose_name=_("rule")
    )
    activity = models.ForeignKey(
        Activity, models.SET_NULL, null=True, blank=True, db_constraint=False, verbose_name=_("activity")
    )
    cancels = models.OneToOneField(
        "self", models.CASCADE, null=True, blank=True, related_name="cancelled_by", verbose_name=_("expires")
    )
    window = models.CharField(max_length=64)
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("score entry")
        verbose_name_plural = _("score ledger")
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "rule", "window"],
                condition=models.Q(rule__isnull=False),
                name="score_entry_once_per_rule",
            ),
            models.UniqueConstraint(
                fields=["lead", "kind", "window"],
                condition=models.Q(rule__isnull=True),
                name="score_entry_once_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["lead", "-created_at"], name="score_entry_lead")]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.reason}"


class ScoringSettings(models.Model):
    """The one row of scoring settings (pk=1), edited in the admin."""

    class OwnerRule(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin among sales users")
        COMPANY_OWNER = "company_owner", _("Owner of the company's other leads, else round robin")

    class Decay(models.TextChoices):
        NONE = "none", _("No decay")
        EXPIRE = "expire", _("Points expire after N days")
        SHRINK = "shrink", _("Score shrinks by X% per 30 days without activity")

    class CompanyScore(models.TextChoices):
        SUM = "sum", _("Sum of its leads' scores")
        MAX = "max", _("Highest of its leads' scores")

    hot_threshold = models.PositiveIntegerField(_("hot-lead threshold"), default=50)
    fit_threshold = models.IntegerField(_("minimum fit score for a hot lead"), null=True, blank=True)
    owner_rule = models.CharField(
        _("owner assignment"), max_length=20, choices=OwnerRule.choices, default="round_robin"
    )
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, editable=False)
    webhook_url = models.URLField(_("alert webhook (Slack-compatible)"), blank=True)
    exclude_opens = models.BooleanField(
        _("ignore email opens"), default=False, help_text=_("Machine opens inflate them")
    )
    decay = models.CharField(_("decay"), max_length=10, choices=Decay.choices, default=Decay.NONE)
    decay_days = models.PositiveIntegerField(_("points expire after (days)"), default=90)
    decay_percent = models.PositiveIntegerField(_("shrink per 30 days (%)"), default=10)
    company_score = models.CharField(_("company score"), max_length=5, choices=CompanyScore.choices, default="sum")

    class Meta:
        verbose_name = _("scoring settings")
        verbose_name_plural = _("scoring settings")

    def __str__(self) -> str:
        return str(_("Scoring settings"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "ScoringSettings":
        return cls.objects.get_or_create(pk=1)[0]


class CompanyScore(Company):
    """Companies ranked by their leads' scores (sum or maximum, per the scoring settings)."""

    class Meta:
        proxy = True
        verbose_name = _("company score")
        verbose_name_plural = _("company scores")
