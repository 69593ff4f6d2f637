"""Opting out: what an unsubscribe does to a lead, wherever it comes from (link, API, ESP webhook)."""

from django.db.models import Q
from django.utils import timezone

from leads.models import Activity, Consent, Lead


def unsubscribe(lead: Lead, *, reason: str) -> bool:
    """Stop all marketing mail to the lead and revoke its consents; True when something changed."""
    changed = Lead.objects.filter(pk=lead.pk).filter(~Q(email_status=Lead.EmailStatus.UNSUBSCRIBED) | Q(consent=True))
    # A bounce or a complaint is a stronger state than an unsubscribe: keep it.
    changed.filter(email_status=Lead.EmailStatus.OK).update(email_status=Lead.EmailStatus.UNSUBSCRIBED)
    updated = changed.update(consent=False)
    Consent.objects.filter(lead=lead, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason[:255]
    )
    return bool(updated)


def on_activity(activity: Activity) -> None:
    """Stream consumer: an unsubscribed event, from any source, takes effect."""
    if activity.kind == Activity.Kind.UNSUBSCRIBED:
        unsubscribe(
            activity.lead, reason=str((activity.data or {}).get("reason", "unsubscribed"))[:255] or "unsubscribed"
        )
