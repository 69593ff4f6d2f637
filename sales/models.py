"""Opportunities, what sales writes about leads, and the outbound CRM webhooks.

Campaigns and forms are referred to by the ids the activity stream carries
(Activity.campaign_id / form_id), so this app never imports campaigns/ or landing/.
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from leads.models import Activity, Company, Lead

AMOUNT_MAX = Decimal("100000000000")  # 1,000 億円: anything above is a typo, not a deal


class Opportunity(models.Model):
    """A lead that sales is working as a deal (商談): where MA pays off."""

    class Stage(models.TextChoices):
        # The seed's words: 商談化 → 案件化 → 受注 / 失注.
        OPPORTUNITY = "opportunity", pgettext_lazy("opportunity stage", "Opportunity")
        DEAL = "deal", pgettext_lazy("opportunity stage", "Deal")
        WON = "won", pgettext_lazy("opportunity stage", "Won")
        LOST = "lost", pgettext_lazy("opportunity stage", "Lost")

    CLOSED = (Stage.WON, Stage.LOST)

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="opportunities", verbose_name=_("lead"))
    company = models.ForeignKey(
        Company, models.SET_NULL, null=True, blank=True, related_name="opportunities", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(AMOUNT_MAX)],
    )
    expected_close = models.DateField(_("expected close date"))
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.OPPORTUNITY)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [models.Index(fields=["owner", "stage"], name="opportunity_owner_stage")]
        permissions = [
            ("work_leads", _("Can claim, reassign and hand back leads in the sales workspace")),
            ("manage_all_opportunities", _("Can see and change every user's opportunities")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0) & models.Q(amount__lte=AMOUNT_MAX), name="opportunity_amount_range"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.stage in self.CLOSED


class OpportunityStageChange(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, models.CASCADE, related_name="stage_changes", verbose_name=_("opportunity")
    )
    from_stage = models.CharField(_("from"), max_length=20, choices=Opportunity.Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=Opportunity.Stage.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, verbose_name=_("by"))

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_stage or '-'} → {self.to_stage}"


class AttributionTouch(models.Model):
    """One campaign or form that led to an opportunity, as found in the activity stream at conversion.

    Reports sum Opportunity.amount by campaign_id (or form_id) and role from this table.
    """

    class Role(models.TextChoices):
        FIRST = "first", _("First touch")
        LAST = "last", _("Last touch before conversion")
        INFLUENCE = "influence", _("Influenced")

    opportunity = models.ForeignKey(Opportunity, models.CASCADE, related_name="touches", verbose_name=_("opportunity"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    activity = models.ForeignKey(
        Activity, models.SET_NULL, null=True, blank=True, db_constraint=False, verbose_name=_("activity")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Activity.Kind.choices)
    campaign_id = models.BigIntegerField(_("campaign id"), null=True, blank=True)
    form_id = models.BigIntegerField(_("form id"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("attribution touch")
        verbose_name_plural = _("attribution touches")
        ordering = ["occurred_at", "pk"]
        indexes = [
            models.Index(fields=["campaign_id", "role"], name="touch_campaign"),
            models.Index(fields=["form_id", "role"], name="touch_form"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.get_kind_display()}"


class Note(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        NOTE = "note", _("Note")

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="sales_notes", verbose_name=_("lead"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, verbose_name=_("author")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField(_("text"), max_length=5000)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["lead", "-at"], name="note_lead")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"


class Handback(models.Model):
    """Sales returning a lead to marketing (disqualified or recycled to nurturing), and why."""

    class Kind(models.TextChoices):
        RECYCLE = "recycle", _("Recycle to nurturing")
        DISQUALIFY = "disqualify", _("Disqualify")

    class Reason(models.TextChoices):
        TIMING = "timing", _("Not now (timing)")
        BUDGET = "budget", _("No budget")
        AUTHORITY = "authority", _("Not a decision maker")
        NEED = "need", _("No need")
        COMPETITOR = "competitor", _("Chose a competitor")
        UNREACHABLE = "unreachable", _("Could not reach")
        INVALID = "invalid", _("Invalid contact or not a prospect")
        OTHER = "other", _("Other")

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="handbacks", verbose_name=_("lead"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    score_before = models.IntegerField(_("score before"), default=0)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, verbose_name=_("by"))
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("lead returned to marketing")
        verbose_name_plural = _("leads returned to marketing")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_reason_display()}"


class DigestSent(models.Model):
    """One row per owner and local day: the daily digest goes out once, however often the job runs."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, verbose_name=_("owner"))
    day = models.DateField(_("day"))
    leads = models.PositiveIntegerField(_("hot leads"), default=0)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("hot-lead digest")
        verbose_name_plural = _("hot-lead digests")
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="digest_once_per_owner_day")]

    def __str__(self) -> str:
        return f"{self.owner} {self.day}"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A CRM (or anything) that wants to hear about hot leads and opportunities."""

    class Event(models.TextChoices):
        LEAD_MQL = "lead.mql", _("Lead became a hot lead (MQL)")
        OPPORTUNITY_CREATED = "opportunity.created", _("Opportunity created")
        OPPORTUNITY_CHANGED = "opportunity.changed", _("Opportunity changed")

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=_new_secret,
        help_text=_("Verify the X-Mautomation-Signature header with it"),
    )
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("CRM webhook")
        verbose_name_plural = _("CRM webhooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from sales.webhooks import url_problem

        problems = {}
        if reason := url_problem(self.url):
            problems["url"] = reason
        if not isinstance(self.events, list) or not self.events or set(self.events) - set(self.Event.values):
            problems["events"] = _("Choose one or more of the listed events.")
        if problems:
            raise ValidationError(problems)


class WebhookDelivery(models.Model):
    """One event for one endpoint, and how sending it went; written before it is sent, so none is lost."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, models.CASCADE, related_name="deliveries", verbose_name=_("webhook"))
    event = models.CharField(_("event"), max_length=30, choices=WebhookEndpoint.Event.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    response_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
