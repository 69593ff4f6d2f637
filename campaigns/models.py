from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
        SENT = "sent", _("Sent")

    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(
        _("content type"), max_length=20, choices=ContentType.choices, default=ContentType.OTHER
    )
    subject = models.CharField(_("subject"), max_length=255)
    text_body = models.TextField(_("text body"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name
