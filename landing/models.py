"""Forms and landing pages built in the admin, and every submission they receive.

A form's fields and a page's blocks are data (JSON validated by
landing/definitions.py), so a marketer builds them without code. Pages keep a
draft and a published version: editing never changes what visitors see until
the marketer publishes.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import Activity, Lead


class Form(models.Model):
    class SuccessAction(models.TextChoices):
        MESSAGE = "message", _("Show a message")
        REDIRECT = "redirect", _("Redirect to a URL")
        ASSET = "asset", _("Offer the gated download")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True, allow_unicode=False)
    # [{"key", "type", "label", "placeholder", "help", "required", "maps_to", "options", "max_length", "wording"}]
    fields = models.JSONField(_("fields"), default=list, blank=True)
    submit_label = models.CharField(_("submit button text"), max_length=100, default="送信")
    success_action = models.CharField(
        _("after submitting"), max_length=10, choices=SuccessAction.choices, default="message"
    )
    success_message = models.TextField(_("success message"), blank=True)
    redirect_url = models.URLField(_("redirect URL"), blank=True)
    asset = models.FileField(_("gated asset (PDF)"), upload_to="assets/%Y/%m/", blank=True)
    asset_link_hours = models.PositiveIntegerField(_("download link valid for (hours)"), default=72)
    auto_reply = models.BooleanField(_("send an auto-reply to the submitter"), default=False)
    auto_reply_subject = models.CharField(_("auto-reply subject"), max_length=200, blank=True)
    auto_reply_body = models.TextField(_("auto-reply text"), blank=True)
    notify_emails = models.CharField(_("notify staff (emails, comma-separated)"), max_length=1000, blank=True)
    double_opt_in = models.BooleanField(_("double opt-in"), default=False)
    allowed_origins = models.TextField(
        _("sites allowed to embed this form"),
        blank=True,
        help_text=_("One origin per line, e.g. https://www.example.com"),
    )
    min_fill_seconds = models.PositiveIntegerField(_("minimum fill time (seconds)"), default=2)
    published = models.BooleanField(_("published"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("landing:form", args=[self.slug])

    @property
    def origins(self) -> list[str]:
        return [line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()]


class Submission(models.Model):
    """The raw submission, kept whatever happens to the lead or the broker."""

    form = models.ForeignKey(Form, models.PROTECT, related_name="submissions", verbose_name=_("form"))
    lead = models.ForeignKey(
        Lead, models.SET_NULL, null=True, blank=True, related_name="submissions", verbose_name=_("lead")
    )
    activity = models.ForeignKey(Activity, models.SET_NULL, null=True, blank=True, verbose_name=_("activity"))
    data = models.JSONField(_("submitted values"), default=dict)
    visitor_id = models.CharField(_("visitor id"), max_length=64, blank=True)
    utm = models.JSONField(_("UTM"), default=dict, blank=True)
    referrer = models.CharField(_("referrer"), max_length=2000, blank=True)
    page_url = models.CharField(_("page URL"), max_length=2000, blank=True)
    embedded = models.BooleanField(_("embedded"), default=False)
    confirmed_at = models.DateTimeField(_("opt-in confirmed"), null=True, blank=True)
    # The consent box's wording when it was ticked: granted at once, or on confirmation (double opt-in).
    consent_wording = models.TextField(_("consent wording"), blank=True)
    # The lead, consent, activity and visitor history are made from the row on a worker (landing/ingesting.py);
    # NULL until then, which makes the table its own outbox.
    ingested_at = models.DateTimeField(_("lead updated"), null=True, blank=True)
    # Emails owed to this submission (auto-reply, staff notification, confirmation); the sweeper sends what is NULL.
    followups_sent_at = models.DateTimeField(_("follow-up emails sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="submission_followups_due",
                condition=models.Q(followups_sent_at__isnull=True),
            ),
            models.Index(
                fields=["created_at"], name="submission_ingest_due", condition=models.Q(ingested_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.form} {self.created_at:%Y-%m-%d %H:%M}"


class LandingPage(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    seo_title = models.CharField(_("SEO title"), max_length=200, blank=True)
    description = models.CharField(_("meta description"), max_length=300, blank=True)
    og_image = models.FileField(_("Open Graph image"), upload_to="og/%Y/%m/", blank=True)
    # [{"type": "hero" | "text" | "image" | "cta" | "form" | "features" | "testimonial" | "logos" | "columns" | "html"}]
    draft_blocks = models.JSONField(_("blocks (draft)"), default=list, blank=True)
    blocks = models.JSONField(_("blocks (published)"), default=list, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("landing page")
        verbose_name_plural = _("landing pages")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("landing:page", args=[self.slug])

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def publish(self) -> None:
        self.blocks = self.draft_blocks
        self.published_at = timezone.now()
        self.save(update_fields=["blocks", "published_at", "updated_at"])
