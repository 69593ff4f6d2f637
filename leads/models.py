"""The spine: leads, companies and the activity stream every other app reads.

This app imports no other app of the project; consumers of activities register
themselves with the stream (issue 3 adds the registry and the outbox sweeper).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mautomation.lib import normalize


class Company(models.Model):
    name = models.CharField(_("company name"), max_length=255)
    name_key = models.CharField(max_length=255, editable=False, db_index=True)
    domain = models.CharField(_("email domain"), max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [models.UniqueConstraint(fields=["name_key", "domain"], name="company_unique_name_domain")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = normalize.company_key(self.name)
        super().save(*args, **kwargs)


class Lead(models.Model):
    class Stage(models.TextChoices):
        SUBSCRIBER = "subscriber", _("Subscriber")
        LEAD = "lead", _("Lead")
        MQL = "mql", _("MQL (hot lead)")
        SQL = "sql", _("SQL")
        OPPORTUNITY = "opportunity", _("Opportunity")
        CUSTOMER = "customer", _("Customer")

    class EmailStatus(models.TextChoices):
        OK = "ok", _("OK")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")

    email = models.CharField(_("email"), max_length=254)
    email_key = models.CharField(max_length=254, unique=True, editable=False)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name_kana = models.CharField(_("last name furigana"), max_length=100, blank=True)
    first_name_kana = models.CharField(_("first name furigana"), max_length=100, blank=True)
    company = models.ForeignKey(
        Company, models.SET_NULL, null=True, blank=True, related_name="leads", verbose_name=_("company")
    )
    company_name = models.CharField(_("company name"), max_length=255, blank=True)
    department = models.CharField(_("department"), max_length=255, blank=True)
    title = models.CharField(_("job title"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    phone_key = models.CharField(max_length=50, blank=True, editable=False, db_index=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=20, choices=Stage.choices, default=Stage.LEAD)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
        verbose_name=_("owner"),
    )
    email_status = models.CharField(
        _("email status"), max_length=20, choices=EmailStatus.choices, default=EmailStatus.OK
    )
    score = models.IntegerField(_("score"), default=0, db_index=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [models.Index(fields=["stage", "-score"], name="lead_stage_score")]

    def __str__(self) -> str:
        return self.display_name or self.email

    def save(self, *args, **kwargs) -> None:
        self.email_key = normalize.email_key(self.email)
        self.phone_key = normalize.phone_key(self.phone)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()


class Activity(models.Model):
    """One row per thing a person did or that happened to them; append-only."""

    class Kind(models.TextChoices):
        PAGE_VIEW = "page_view", _("Page view")
        FORM_SUBMIT = "form_submit", _("Form submitted")
        DOWNLOAD = "download", _("Download")
        EMAIL_SENT = "email_sent", _("Email sent")
        EMAIL_DELIVERED = "email_delivered", _("Email delivered")
        EMAIL_OPENED = "email_opened", _("Email opened")
        EMAIL_CLICKED = "email_clicked", _("Email clicked")
        EMAIL_BOUNCED = "email_bounced", _("Email bounced")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        CUSTOM = "custom", _("Custom event")
        SCORE_CHANGED = "score_changed", _("Score changed")
        STAGE_CHANGED = "stage_changed", _("Stage changed")

    lead = models.ForeignKey(
        Lead, models.CASCADE, null=True, blank=True, related_name="activities", verbose_name=_("lead")
    )
    visitor_id = models.CharField(_("visitor id"), max_length=64, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    url = models.CharField(_("URL"), max_length=2000, blank=True)
    campaign_id = models.BigIntegerField(_("campaign id"), null=True, blank=True)
    form_id = models.BigIntegerField(_("form id"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_timeline"),
            models.Index(fields=["campaign_id", "kind", "lead"], name="activity_campaign_counts"),
            models.Index(
                fields=["processed_at"], name="activity_unprocessed", condition=models.Q(processed_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"
