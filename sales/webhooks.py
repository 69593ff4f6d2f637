"""Outbound CRM webhooks: signed JSON POSTs for hot leads and opportunities, retried with backoff.

A delivery row is written in the transaction of the change it reports and sent
by a worker after commit. The body is signed with the endpoint's secret:
X-Mautomation-Signature: sha256=HMAC-SHA256(secret, f"{timestamp}.{body}"), with
the timestamp in X-Mautomation-Timestamp, so a receiver can refuse replays.
Addresses inside the network (loopback, private, link-local) are refused unless
WEBHOOK_ALLOW_PRIVATE (on outside production), checked when saved and again
when sent, because a name can resolve differently later.
"""

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leads.models import Activity, Lead
from mautomation.lib.enqueue import try_enqueue
from mautomation.lib.webhook_targets import url_problem
from sales.models import Opportunity, WebhookDelivery, WebhookEndpoint

TIMEOUT_S = 10
MAX_ATTEMPTS = 8
ERROR_MAX = 1000


def notify(*, event: str, payload: dict) -> list[int]:
    """One delivery per active endpoint subscribed to the event, sent after commit; returns their ids."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if event in e.events]
    body = {"event": event, "occurred_at": timezone.now(), "data": payload}
    body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    created = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=endpoint, event=event, payload=body) for endpoint in endpoints]
    )
    ids = [delivery.pk for delivery in created]
    for delivery_id in ids:
        transaction.on_commit(lambda delivery_id=delivery_id: dispatch(delivery_id))
    return ids


def dispatch(delivery_id: int) -> None:
    from sales.tasks import deliver_webhook

    try_enqueue(deliver_webhook, (delivery_id,), what=f"webhook delivery {delivery_id}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def attempt(delivery_id: int) -> bool:
    """Send once; records the outcome. True when delivered (or nothing is left to do)."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return True
    code, error = _post(delivery)
    delivery.attempts += 1
    delivery.response_code, delivery.error = code, error[:ERROR_MAX]
    delivery.last_attempt_at = timezone.now()
    if not error:
        delivery.status = WebhookDelivery.Status.DELIVERED
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    return delivery.status != WebhookDelivery.Status.PENDING


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    endpoint = delivery.endpoint
    if reason := url_problem(endpoint.url):
        return None, reason
    body = json.dumps(delivery.payload, ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "mautomation-webhook/1",
        "X-Mautomation-Event": delivery.event,
        "X-Mautomation-Delivery": str(delivery.pk),
        "X-Mautomation-Timestamp": str(timestamp),
        "X-Mautomation-Signature": sign(endpoint.secret, timestamp, body),
    }
    try:
        response = requests.post(endpoint.url, data=body, headers=headers, timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def stalled(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries nobody is retrying: never tried 5 minutes after they were written (the
    broker was down at commit), or not tried for longer than the longest backoff (a lost retry)."""
    now = now or timezone.now()
    never = Q(last_attempt_at__isnull=True, created_at__lt=now - timedelta(minutes=5))
    forgotten = Q(last_attempt_at__lt=now - timedelta(seconds=backoff_seconds(MAX_ATTEMPTS) + 600))
    rows = WebhookDelivery.objects.filter(never | forgotten, status=WebhookDelivery.Status.PENDING)
    return list(rows.order_by("created_at").values_list("pk", flat=True)[:limit])


def resend_stalled() -> int:
    """The sweeper (also `manage.py send_pending_webhooks`): hand stalled deliveries to a worker again."""
    ids = stalled()
    for delivery_id in ids:
        dispatch(delivery_id)
    return len(ids)


def backoff_seconds(attempts: int) -> int:
    """30 s, 1 min, 2 min, … up to an hour between attempts."""
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


# --- payloads --------------------------------------------------------------------------------------------------


def opportunity_payload(opportunity: Opportunity, *, previous_stage: str | None = None) -> dict:
    data = {
        "id": opportunity.pk,
        "name": opportunity.name,
        "amount": str(opportunity.amount),
        "expected_close": opportunity.expected_close.isoformat(),
        "stage": opportunity.stage,
        "owner": opportunity.owner.get_username() if opportunity.owner else None,
        "lead": {"id": opportunity.lead_id, "email": opportunity.lead.email},
        "company": opportunity.lead.company_name,
    }
    if previous_stage:
        data["previous_stage"] = previous_stage
    return data


def on_activity(activity: Activity) -> None:
    """Stream consumer: a stage change to MQL is the "lead became a hot lead" event."""
    if activity.kind != Activity.Kind.STAGE_CHANGED or (activity.data or {}).get("to") != Lead.Stage.MQL:
        return
    lead = Lead.objects.select_related("owner").get(pk=activity.lead_id)
    notify(event=WebhookEndpoint.Event.LEAD_MQL, payload=lead.webhook_payload())
