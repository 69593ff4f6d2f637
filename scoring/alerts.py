"""Telling sales about a new hot lead: an email to its owner and an optional chat webhook."""

from collections.abc import Callable

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
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


def admin_list_link(owner_id: int | None) -> str:
    owner = "none" if owner_id is None else owner_id
    return reverse("admin:leads_lead_changelist") + f"?stage__exact={Lead.Stage.MQL}&owner={owner}"


# Where a summary of many new hot leads links to: the owner's list of them (None: the unassigned ones).
_list_link: list[Callable[[int | None], str]] = [admin_list_link]


def register_list_link(link: Callable[[int | None], str]) -> None:
    _list_link[0] = link


def alert_context(lead: Lead) -> dict:
    reasons = lead.score_entries.order_by("-created_at")[:10]
    url = settings.SITE_URL + _lead_link[0](lead)
    return {"lead": lead, "reasons": reasons, "url": url, "threshold": ScoringSettings.load().hot_threshold}


def recipients(owner: AbstractBaseUser | None) -> list[str]:
    """The owner; without one (or without an address), every marketer, so that no hot lead goes unseen."""
    if owner and owner.email:
        return [owner.email]
    marketers = get_user_model().objects.filter(groups__name=MARKETER, is_active=True).exclude(email="")
    return list(marketers.values_list("email", flat=True))


def email_owner(lead_id: int) -> int:
    lead = Lead.objects.select_related("owner", "company").get(pk=lead_id)
    to = recipients(lead.owner)
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


def summary_context(count: int, top_ids: list[int], owner_id: int | None) -> dict:
    """A summary of many new hot leads (a rescore): how many, the top ones, and the list to see them all."""
    leads = Lead.objects.filter(pk__in=top_ids).select_related("company").order_by("-score", "pk")
    return {
        "count": count,
        "leads": [(lead, settings.SITE_URL + _lead_link[0](lead)) for lead in leads],
        "list_url": settings.SITE_URL + _list_link[0](owner_id),
        "threshold": ScoringSettings.load().hot_threshold,
    }


def email_summary(*, owner_id: int | None, count: int, top_ids: list[int]) -> int:
    """One email to an owner (or the marketers) for all the leads a rescore made hot and gave them."""
    owner = get_user_model().objects.filter(pk=owner_id).first() if owner_id else None
    to = recipients(owner)
    if not to:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = summary_context(count, top_ids, owner_id if owner else None)
        subject = render_to_string("scoring/hot_leads_summary_subject.txt", context).strip()
        body = render_to_string("scoring/hot_leads_summary_email.txt", context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def post_summary_webhook(*, count: int, top_ids: list[int]) -> bool:
    """One chat message for all the leads a rescore made hot; raises on failure so the task retries."""
    url = ScoringSettings.load().webhook_url
    if not url:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        context = summary_context(count, top_ids[:5], None)
        text = render_to_string("scoring/hot_leads_summary_webhook.txt", context).strip()
    response = requests.post(url, json={"text": text}, timeout=WEBHOOK_TIMEOUT)
    response.raise_for_status()
    return True
