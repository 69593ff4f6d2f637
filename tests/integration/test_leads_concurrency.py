"""Tier 2: simultaneous calls about one person give one lead, one event, and an exact rate limit.

Each thread has its own database connection, as gunicorn workers do, and they
start together behind a barrier so their first requests race for the same row.
"""

import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads import tracking
from leads.models import Activity, Lead
from mautomation.lib import ratelimit
from mautomation.roles import MARKETER
from mautomation.tasks import ping
from tests.factories import make_lead

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CALLS = 200
# Each thread holds a connection, and PostgreSQL allows 100 by default (shared with
# the worker and anything else running): 32 racing threads take the 200 calls.
THREADS = 32


@pytest.fixture
def token() -> str:
    user = get_user_model().objects.create_user("racer", password="x")
    user.groups.add(Group.objects.get(name=MARKETER))
    return Token.objects.create(user=user).key


def race(call: Callable[[APIClient, int], int], *, token: str) -> Counter:
    """Run `call` CALLS times from THREADS threads started together; count the statuses (or errors)."""
    tickets, results = itertools.count(), []
    start = threading.Barrier(THREADS)

    def worker() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        start.wait()
        try:
            while (ticket := next(tickets)) < CALLS:
                try:
                    results.append(call(client, ticket))
                except Exception as exc:  # a 500 re-raised by the test client: count it, do not lose it
                    results.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(results)


def test_concurrent_upserts_of_one_new_address_create_one_lead(token):
    def upsert(client: APIClient, ticket: int) -> int:
        body = {"email": "Race@Example.com", "last_name": "競争", "touch": {"utm_source": f"s{ticket % 3}"}}
        return client.post("/api/v1/leads/", body, format="json").status_code

    statuses = race(upsert, token=token)
    assert statuses == Counter({201: 1, 200: CALLS - 1})
    assert Lead.objects.filter(email_key="race@example.com").count() == 1


@pytest.mark.parametrize("known_lead", [True, False], ids=["known lead", "create_lead"])
def test_concurrent_events_with_one_dedup_key_record_one_event(token, celery_worker, known_lead):
    if known_lead:
        make_lead("race@example.com")

    def event(client: APIClient, ticket: int) -> int:
        body = {"kind": "form_submit", "email": "race@example.com", "create_lead": True, "dedup_key": "crm:42"}
        return client.post("/api/v1/events/", {**body, "data": {"attempt": ticket}}, format="json").status_code

    statuses = race(event, token=token)
    assert statuses == Counter({201: 1, 200: CALLS - 1})
    assert Lead.objects.count() == 1
    activity = Activity.objects.get()
    assert activity.lead == Lead.objects.get()
    ping.delay("after-the-race").get(timeout=30)  # the solo worker runs tasks in order
    activity.refresh_from_db()
    assert activity.processed_at is not None


def test_concurrent_page_views_of_one_visitor_stop_exactly_at_its_limit(token, monkeypatch):
    """The counter is Redis's INCR, shared by every web process: no view slips through between two of them."""
    monkeypatch.setattr(tracking, "PER_VISITOR_LIMIT", 50)
    monkeypatch.setattr(tracking, "PER_IP_LIMIT", 10**6)
    now = time.time()
    monkeypatch.setattr(ratelimit, "now", lambda: now)  # one window for the whole race
    visitor = uuid.uuid4().hex  # a fresh counter even when the suite runs twice within a minute

    def page_view(client: APIClient, ticket: int) -> int:
        body = json.dumps({"visitor_id": visitor, "url": f"https://www.example.co.jp/p/{ticket}"})
        return client.post("/t/pv", body, content_type="text/plain").status_code

    statuses = race(page_view, token=token)
    assert statuses == Counter({204: 50, 429: CALLS - 50})
    assert Activity.objects.filter(visitor_id=visitor).count() == 50
