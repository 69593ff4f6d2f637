"""Tier 2: the same email event arriving several times at once is recorded once (PostgreSQL, threads).

Each thread has its own database connection, as gunicorn workers do, and they
start together behind a barrier: an ESP retrying a webhook, a mail client
loading the pixel twice, a person pressing the unsubscribe button repeatedly.
"""

import base64
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.utils import timezone

from campaigns import events
from campaigns.models import Send
from leads.models import Activity, Lead
from mautomation.tasks import ping
from scoring.models import ScoreEntry, ScoringRule
from tests.campaigns.tracking_helpers import CHROME, click_paths, personalized, pixel_path, sent_ago
from tests.factories import make_campaign, make_lead, make_send

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREADS = 5
SECRET = "hook:concurrent-secret"


def race(call: Callable[[Client], int]) -> Counter:
    start, results = threading.Barrier(THREADS), []

    def worker() -> None:
        client = Client()
        start.wait()
        try:
            results.append(call(client))
        except Exception as exc:  # a 500 re-raised by the test client: count it, do not lose it
            results.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(results)


@pytest.fixture(autouse=True)
def _worker_done(celery_worker):
    """The events these tests record go to the real worker: let it finish before the tables are emptied."""
    yield
    ping.delay("drained").get(timeout=30)


@pytest.fixture
def send():
    return make_send(make_lead(f"race-{uuid.uuid4().hex[:8]}@example.com", consent=True), campaign=make_campaign())


def test_one_webhook_delivered_five_times_at_once_is_one_activity(send, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    send.message_id = "race-message"
    send.save()
    body = json.dumps({"RecordType": "Bounce", "ID": 777, "Type": "HardBounce", "MessageID": "race-message",
                       "Email": send.email, "BouncedAt": "2026-11-24T01:00:00Z"})  # fmt: skip
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()

    def deliver(client: Client) -> int:
        return client.post(
            "/anymail/postmark/tracking/", body, content_type="application/json", HTTP_AUTHORIZATION=auth
        ).status_code

    assert race(deliver) == Counter({200: THREADS})
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_BOUNCED).count() == 1
    assert Lead.objects.get(pk=send.lead_id).email_status == Lead.EmailStatus.BOUNCED


def test_one_open_webhook_five_times_at_once_then_five_times_in_a_row_is_scored_once(send, settings):
    """An ESP that retries: the open is one activity, scored by the real worker once (3 points, one ledger row)."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    ScoringRule.objects.create(name="開封", event_kind="email_opened", points=3)
    opened_at = timezone.now().replace(microsecond=0)
    Send.objects.filter(pk=send.pk).update(message_id="race-open", sent_at=opened_at - timedelta(hours=1))
    body = json.dumps({"RecordType": "Open", "MessageID": "race-open", "Recipient": send.email, "FirstOpen": True,
                       "ReceivedAt": opened_at.isoformat(), "UserAgent": CHROME})  # fmt: skip
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()

    def deliver(client: Client) -> int:
        return client.post(
            "/anymail/postmark/tracking/", body, content_type="application/json", HTTP_AUTHORIZATION=auth
        ).status_code

    assert race(deliver) == Counter({200: THREADS})
    assert [deliver(Client()) for _ in range(THREADS)] == [200] * THREADS
    ping.delay("after-the-opens").get(timeout=30)  # the solo worker runs tasks in order
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_OPENED).count() == 1
    assert not Activity.objects.filter(processed_at__isnull=True).exists()
    assert Lead.objects.get(pk=send.lead_id).score == 3
    assert ScoreEntry.objects.filter(lead_id=send.lead_id).count() == 1


def test_one_pixel_and_one_link_hit_five_times_at_once_are_one_row_each(send, monkeypatch):
    cache.delete(events.DISPATCHED_MARK)  # the shared Redis outlives the test database of an earlier run
    sent_ago(monkeypatch, 600)
    html = personalized(send.pk)
    pixel, link = pixel_path(html), click_paths(html)[0]
    assert race(lambda client: client.get(pixel, HTTP_USER_AGENT=CHROME).status_code) == Counter({200: THREADS})
    assert race(lambda client: client.get(link, HTTP_USER_AGENT=CHROME).status_code) == Counter({302: THREADS})
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_OPENED).count() == 1
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_CLICKED).count() == 1
    assert events.dispatch_hits() == 2
    ping.delay("after-the-hits").get(timeout=30)  # the solo worker runs tasks in order
    assert not Activity.objects.filter(processed_at__isnull=True).exists()


def test_one_click_unsubscribe_five_times_at_once_is_one_event(send):
    from campaigns.tracking import unsubscribe_token

    path = f"/e/u/{unsubscribe_token(send.pk)}/one-click"
    answers = race(lambda client: client.post(path, {"List-Unsubscribe": "One-Click"}).status_code)
    assert answers == Counter({200: THREADS})
    assert Activity.objects.filter(kind=Activity.Kind.UNSUBSCRIBED).count() == 1
    assert Lead.objects.get(pk=send.lead_id).email_status == Lead.EmailStatus.UNSUBSCRIBED
