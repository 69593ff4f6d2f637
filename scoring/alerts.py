"""Telling sales about a new hot lead: an email to its owner and an optional chat webhook."""

from collections.abc import Callable

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from leads.models import Lead
from mautomation.roles import MARKETER
from scoring.models import ScoringSettings

WEBHOOK_TIMEOUT = 10


def admin_link(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


# Where an alert links to; an app with a better page for the owner (the sales workspace)
# registers its own from its AppConfig.ready(), so scoring imports no such app.
_lead_link: list[Callable[[Lead], str]] = [admin_link]


def register_lead_link(link: Callable[[Lead], str]) -> None:
    _lead_link[0] = link


def alert_context(lead: Lead) -> dict:
    reasons = lead.score_entries.order_by("-created_at")[:10]
    url = settings.SITE_URL + _lead_link[0](lead)
    return {"lead": lead, "reasons": reasons, "url": url, "threshold": ScoringSettings.load().hot_threshold}


def recipients(lead: Lead) -> list[str]:
    """The owner; without one, every marketer, so that no hot lead goes unseen."""
    if lead.owner and lead.owner.email:
        return [lead.owner.email]
    marketers = get_user_model().objects.filter(groups__name=MARKETER, is_active=True).exclude(email="")
    return list(marketers.values_list("email", flat=True))


def email_owner(lead_id: int) -> int:
    lead = Lead.objects.select_related("owner", "company").get(pk=lead_id)
    to = recipients(lead)
    if not to:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = alert_context(lead)
        subject = render_to_string("scoring/hot_lead_subject.txt", context).strip()
        body = render_to_string("scoring/hot_lead_email.txt", context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def post_webhook(lead_id: int) -> bool:
    """POST {"text": …}, the body Slack-compatible incoming webhooks accept; raises on failure so the task retries."""
    url = ScoringSettings.load().webhook_url
    if not url:
        return False
    lead = Lead.objects.select_related("owner", "company").get(pk=lead_id)
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string("scoring/hot_lead_webhook.txt", alert_context(lead)).strip()
    response = requests.post(url, json={"text": text}, timeout=WEBHOOK_TIMEOUT)
    response.raise_for_status()
    return True
