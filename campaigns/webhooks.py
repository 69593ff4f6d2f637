"""ESP delivery and tracking events, from django-anymail's tracking webhooks, into the activity stream.

Anymail checks each post (basic auth with ANYMAIL_WEBHOOK_SECRET, plus the ESP's
own signature where it has one) and turns it into an AnymailTrackingEvent; its
`tracking` signal is the only way it hands events over, so the receiver below
passes the event to `handle` in one line.

Each event is matched to its Send by the ESP message id stored at sending time
(or, for a message sent otherwise, to the lead by address), recorded once under
a dedup key made of the ESP's event id (an ESP retrying a delivery, or posting
it five times at once, adds nothing), and takes effect on the lead: a bounce or
a complaint suppresses every later send, an unsubscribe goes through
leads.consents. A complaint is recorded as an `unsubscribed` event with
`{"reason": "complained", "complaint": true}`: it is the recipient refusing further mail.
"""

import hashlib
import logging
import re

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import transaction
from django.utils import timezone

from campaigns import machines
from campaigns.models import Send
from leads import consents, stream
from leads.models import Activity, Lead
from mautomation.lib.normalize import email_key

log = logging.getLogger(__name__)

KINDS = {
    EventType.DELIVERED: Activity.Kind.EMAIL_DELIVERED,
    EventType.BOUNCED: Activity.Kind.EMAIL_BOUNCED,
    EventType.REJECTED: Activity.Kind.EMAIL_BOUNCED,
    EventType.OPENED: Activity.Kind.EMAIL_OPENED,
    EventType.CLICKED: Activity.Kind.EMAIL_CLICKED,
    EventType.COMPLAINED: Activity.Kind.UNSUBSCRIBED,
    EventType.UNSUBSCRIBED: Activity.Kind.UNSUBSCRIBED,
}
# What an ESP's refusal to send says about the address itself (a policy block says nothing).
REJECTED_STATUS = {
    RejectReason.BOUNCED: Lead.EmailStatus.BOUNCED,
    RejectReason.INVALID: Lead.EmailStatus.BOUNCED,
    RejectReason.TIMED_OUT: Lead.EmailStatus.BOUNCED,
    RejectReason.SPAM: Lead.EmailStatus.COMPLAINED,
    RejectReason.UNSUBSCRIBED: Lead.EmailStatus.UNSUBSCRIBED,
}
TEXT_MAX = 300
_TEMPORARY_REPLY = re.compile(r"\s*(?:4\d\d|4\.\d{1,3}\.\d{1,3})\b")


def on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    handle(event=event, esp_name=esp_name)


def handle(*, event: AnymailTrackingEvent, esp_name: str) -> Activity | None:
    """Record one ESP event on its lead and apply what it means; None when it is not for us."""
    kind = KINDS.get(event.event_type)
    send, lead = match(event) if kind else (None, None)
    if lead is None:
        if kind:
            log.info("%s %s event for an unknown message or address: ignored", esp_name, event.event_type)
        return None
    with transaction.atomic():
        suppress(lead=lead, status=new_status(event))
        activity = stream.record(
            kind=kind,
            lead=lead,
            campaign_id=send.campaign_id if send else None,
            occurred_at=event.timestamp,
            url=(event.click_url or "")[:2000] if kind == Activity.Kind.EMAIL_CLICKED else "",
            data=event_data(event, esp_name=esp_name, send=send),
            dedup_key=dedup_key(event, esp_name=esp_name),
        )
    return activity


def match(event: AnymailTrackingEvent) -> tuple[Send | None, Lead | None]:
    """The send the ESP message id names (the recipient picks one when an id covers several), else the lead."""
    recipient = (event.recipient or "")[:254]
    if event.message_id:
        sends = Send.objects.select_related("lead").filter(message_id=str(event.message_id)[:255])
        send = (sends.filter(email__iexact=recipient).first() if recipient else None) or sends.first()
        if send is not None:
            return send, send.lead
    return None, Lead.objects.filter(email_key=email_key(recipient)).first() if recipient else None


def new_status(event: AnymailTrackingEvent) -> str | None:
    if event.event_type == EventType.BOUNCED:
        return None if soft_bounce(event) else Lead.EmailStatus.BOUNCED
    if event.event_type == EventType.COMPLAINED:
        return Lead.EmailStatus.COMPLAINED
    if event.event_type == EventType.UNSUBSCRIBED:
        return Lead.EmailStatus.UNSUBSCRIBED
    if event.event_type == EventType.REJECTED:
        return REJECTED_STATUS.get(event.reject_reason)
    return None


def soft_bounce(event: AnymailTrackingEvent) -> bool:
    """A temporary failure some ESPs still report as a bounce: Postmark's SoftBounce, an SMTP 4xx reply."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if str(raw.get("Type", "")).lower() in {"softbounce", "transient"}:
        return True
    return bool(_TEMPORARY_REPLY.match(str(event.mta_response or "")))


def suppress(*, lead: Lead, status: str | None) -> None:
    """Stop later sends: a complaint outranks a bounce, which outranks an unsubscribe."""
    if status == Lead.EmailStatus.UNSUBSCRIBED:
        consents.unsubscribe(lead, reason="unsubscribed at the email service")
    elif status == Lead.EmailStatus.BOUNCED:
        Lead.objects.filter(pk=lead.pk).exclude(email_status=Lead.EmailStatus.COMPLAINED).update(email_status=status)
    elif status == Lead.EmailStatus.COMPLAINED:
        Lead.objects.filter(pk=lead.pk).update(email_status=status)
        consents.unsubscribe(lead, reason="spam complaint")


def event_data(event: AnymailTrackingEvent, *, esp_name: str, send: Send | None) -> dict:
    data = {"esp": esp_name, "event": event.event_type, "message_id": str(event.message_id or "")[:255]}
    if event.event_type == EventType.COMPLAINED:
        data.update(reason="complained", complaint=True)  # reports count data.complaint as a complaint
    if event.event_type == EventType.BOUNCED:
        data["permanent"] = not soft_bounce(event)
    for name in ("reject_reason", "description", "mta_response"):
        if value := getattr(event, name, None):
            data[name] = str(value)[:TEXT_MAX]
    return {**data, **machines.flag(_machine_reason(event, send))}


def _machine_reason(event: AnymailTrackingEvent, send: Send | None) -> str | None:
    """ESPs that report a user agent get the same classification as our own pixel and redirects."""
    if event.event_type not in (EventType.OPENED, EventType.CLICKED) or not event.user_agent:
        return None
    since = (event.timestamp or timezone.now()) - send.sent_at if send and send.sent_at else None
    hit = machines.Request("GET", str(event.user_agent)[:500], "", since.total_seconds() if since else None)
    return machines.open_reason(hit) if event.event_type == EventType.OPENED else machines.click_reason(hit)


def dedup_key(event: AnymailTrackingEvent, *, esp_name: str) -> str:
    """The ESP's event id when it has one, else what identifies the event: message, type, recipient, time."""
    identity = event.event_id or f"{event.message_id}|{event.recipient}|{event.timestamp}"
    key = f"esp:{esp_name}:{event.event_type}:{identity}"
    return key if len(key) <= 200 else f"esp:{hashlib.sha256(key.encode()).hexdigest()}"
