"""Email templates, broadcasts and the one send record per (message, lead).

`Send` is shared by every kind of marketing email: a broadcast sets `campaign`,
the automation's step and trigger emails (next issue) leave it empty; both set
`source` ("campaign:12", "step:34"), and (source, lead) is unique, so a lead
gets one row, hence at most one message, per source whatever retries happen.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import Lead, LeadList, Segment


class EmailTemplate(models.Model):
    """Subject, preheader, HTML and text with merge tags; the CSS-inlined HTML is computed on save."""

    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=255)
    preheader = models.CharField(
        _("preheader"), max_length=255, blank=True, help_text=_("Preview text shown after the subject in the inbox")
    )
    html = models.TextField(_("HTML part"), blank=True)
    text = models.TextField(_("text part"), help_text=_("Plain-text version; required by many spam filters"))
    html_inlined = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        from campaigns.templating import inline_css

        # Once per template save, never per message: inlining costs ~0.3 ms per 20 KB.
        self.html_inlined = inline_css(self.html) if self.html.strip() else ""
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from campaigns.templating import template_problems

        problems = template_problems(subject=self.subject, preheader=self.preheader, html=self.html, text=self.text)
        if problems:
            raise ValidationError(problems)


class Campaign(models.Model):
    """An email broadcast; the content type selects the seed's reference rates in reports."""

    class ContentType(models.TextChoices):
        WHITEPAPER = "whitepaper", _("Whitepaper")
        SEMINAR = "seminar", _("Seminar")
        SERVICE_INTRO = "service_intro", _("Service introduction")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")

    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(
        _("content type"), max_length=20, choices=ContentType.choices, default=ContentType.OTHER
    )
    template = models.ForeignKey(
        EmailTemplate, models.PROTECT, null=True, blank=True, related_name="campaigns", verbose_name=_("template")
    )
    lists = models.ManyToManyField(
        LeadList,
        blank=True,
        related_name="campaigns",
        limit_choices_to={"kind": LeadList.Kind.STATIC},
        verbose_name=_("lists"),
    )
    segments = models.ManyToManyField(Segment, blank=True, related_name="campaigns", verbose_name=_("segments"))
    suppression_lists = models.ManyToManyField(
        LeadList,
        blank=True,
        related_name="suppressing_campaigns",
        limit_choices_to={"kind": LeadList.Kind.SUPPRESSION},
        verbose_name=_("suppression lists"),
        help_text=_("Members of these lists are never sent this campaign"),
    )
    utm_campaign = models.CharField(
        _("UTM campaign"), max_length=100, blank=True, help_text=_("Added to links as utm_campaign; empty: no UTM")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    paused_reason = models.CharField(_("pause reason"), max_length=255, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0, editable=False)
    sent_count = models.PositiveIntegerField(_("sent"), default=0, editable=False)
    failed_count = models.PositiveIntegerField(_("failed"), default=0, editable=False)
    # Last progress of a sending run; the sweeper restarts a campaign whose runs went quiet.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, editable=False, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        """The key of this broadcast's send records."""
        return f"campaign:{self.pk}"

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)


class Send(models.Model):
    """One marketing email to one lead: claimed before it is handed to the backend, then marked.

    Life cycle: pending → claimed (reserved by one run) → [handing, for backends
    that cannot split a send in two] → sent; a temporary error puts it back to
    pending with a later `retry_at`, a permanent one ends it as failed. A claim
    left behind by a killed worker is resolved by the sweeper: see
    campaigns/sending.py for the exactly-once argument.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("Reserved for sending")
        HANDING = "handing", _("Handed to the email service")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped (not mailable at send time)")
        REVIEW = "review", _("Needs review (may have been sent)")

    source = models.CharField(_("source"), max_length=64)
    # Every index costs each of a message's three updates (claimed, sent, recorded): the foreign keys are
    # served by the composite indexes below that start with them, and only sent rows have a message id.
    campaign = models.ForeignKey(
        Campaign,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="sends",
        verbose_name=_("campaign"),
        db_index=False,
    )
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="sends", verbose_name=_("lead"), db_index=False)
    email = models.CharField(_("address"), max_length=254)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    retry_at = models.DateTimeField(_("retry after"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    message_id = models.CharField(_("message id"), max_length=255, blank=True)  # indexed in Meta
    error = models.CharField(_("error"), max_length=500, blank=True)
    recorded = models.BooleanField(default=False, editable=False)  # its email_sent activity exists
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("send")
        verbose_name_plural = _("sends")
        constraints = [
            models.UniqueConstraint(fields=["source", "lead"], name="send_once_per_source_lead"),
            # Two leads can never share an address, but a hand-edited row could: one message per address.
            models.UniqueConstraint(Lower("email"), "source", name="send_once_per_source_address"),
        ]
        indexes = [
            models.Index(fields=["source", "status", "id"], name="send_batches"),
            models.Index(fields=["campaign", "status"], name="send_campaign_progress"),
            models.Index(fields=["lead", "-sent_at"], name="send_lead_history"),
            models.Index(fields=["sent_at"], name="send_unrecorded", condition=models.Q(status="sent", recorded=False)),
            # ESP webhooks find a send by its message id (equality only).
            models.Index(fields=["message_id"], name="send_message_id", condition=~models.Q(message_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.email}"


class SenderIdentity(models.Model):
    """The one row (pk=1) naming the sender in every marketing email's legal footer (特定電子メール法)."""

    name = models.CharField(_("sender name"), max_length=200, help_text=_("Company or person sending the email"))
    postal_address = models.CharField(_("postal address"), max_length=300)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    contact_url = models.URLField(_("contact page"), blank=True)
    from_email = models.CharField(
        _("from address"), max_length=254, blank=True, help_text=_("Empty: DEFAULT_FROM_EMAIL from the settings")
    )

    class Meta:
        verbose_name = _("sender identity")
        verbose_name_plural = _("sender identity")

    def __str__(self) -> str:
        return self.name or str(_("Sender identity"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "SenderIdentity":
        return cls.objects.filter(pk=1).first() or cls(pk=1, name="", postal_address="")

    @property
    def contact(self) -> str:
        return " / ".join(part for part in (self.contact_email, self.contact_phone, self.contact_url) if part)

    @property
    def complete(self) -> bool:
        """The law requires a name, an address and a way to contact the sender before anything is sent."""
        return bool(self.name and self.postal_address and self.contact)


from campaigns.automation_models import *  # noqa: E402, F403  (automation: steps, triggers; issue 7)
