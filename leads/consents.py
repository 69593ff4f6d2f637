"""Consent and opting out: revoking consents, and what an unsubscribe does wherever it comes from."""

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from leads.models import Activity, Consent, Lead


def revoke_consents(*, consents: QuerySet, reason: str) -> int:
    """Revoke the consents still in force (kept as evidence); a lead left without any loses its consent flag."""
    pending = Consent.objects.filter(pk__in=consents.values("pk"), revoked_at__isnull=True)
    lead_ids = list(pending.values_list("lead_id", flat=True).distinct())
    revoked = pending.update(revoked_at=timezone.now(), revoked_reason=reason[:255])
    in_force = Consent.objects.filter(lead=OuterRef("pk"), revoked_at__isnull=True)
    Lead.objects.filter(pk__in=lead_ids).filter(~Exists(in_force)).update(consent=False)
    return revoked


def unsubscribe(lead: Lead, *, reason: str) -> bool:
    """Stop all marketing mail to the lead and revoke its consents; True when something changed."""
    # A bounce or a complaint is a stronger state than an unsubscribe: keep it.
    changed = Lead.objects.filter(pk=lead.pk, email_status=Lead.EmailStatus.OK).update(
        email_status=Lead.EmailStatus.UNSUBSCRIBED
    )
    revoked = revoke_consents(consents=Consent.objects.filter(lead=lead), reason=reason)
    changed += Lead.objects.filter(pk=lead.pk, consent=True).update(consent=False)  # consent set without a record
    return bool(changed or revoked)


def on_activity(activity: Activity) -> None:
    """Stream consumer: an unsubscribed event, from any source, takes effect."""
    if activity.kind == Activity.Kind.UNSUBSCRIBED:
        unsubscribe(activity.lead, reason=str((activity.data or {}).get("reason") or "unsubscribed"))
