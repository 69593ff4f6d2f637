"""Tier 2 (PostgreSQL): an open or a click commits without waiting for the WAL flush, and nothing else does.

The hit's statement is its own transaction; its synchronous_commit=off is
transaction-local, so the connection (reused by the next request, which may be a
form post) keeps the server's setting. Inside a transaction someone else opened,
the hit must not change how that transaction commits.
"""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns import events, tracking
from leads.models import Activity
from tests.campaigns.tracking_helpers import CHROME, click_paths, personalized, pixel_path, sent_ago
from tests.factories import make_campaign, make_send

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ASYNC = "set_config('synchronous_commit', 'off', true)"


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_an_open_and_a_click_are_stored_by_one_statement_that_does_not_wait_for_the_flush(monkeypatch):
    send = make_send(campaign=make_campaign())
    sent_ago(monkeypatch, 600)
    html, client, before = personalized(send.pk), Client(), synchronous_commit()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(pixel_path(html), HTTP_USER_AGENT=CHROME).status_code == 200
        assert client.get(click_paths(html)[0], HTTP_USER_AGENT=CHROME).status_code == 302
    inserts = [query["sql"] for query in queries.captured_queries if "INSERT" in query["sql"]]
    assert len(inserts) == 2 and all(ASYNC in sql for sql in inserts)
    kinds = sorted(Activity.objects.filter(lead_id=send.lead_id).values_list("kind", flat=True))
    assert kinds == [Activity.Kind.EMAIL_CLICKED, Activity.Kind.EMAIL_OPENED]
    assert synchronous_commit() == before  # the next request on this connection commits as before


def test_a_hit_inside_someone_elses_transaction_leaves_its_commit_alone(monkeypatch):
    send = make_send(campaign=make_campaign())
    sent_ago(monkeypatch, 600)
    hit = tracking.read_open(pixel_path(personalized(send.pk)).rsplit("/", 1)[1])
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert events.record_open(hit=hit, data={}) == send.lead_id
        setting = synchronous_commit()
    assert ASYNC not in queries.captured_queries[0]["sql"] and setting != "off"
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_OPENED, lead_id=send.lead_id).count() == 1


def test_a_hit_for_a_send_that_is_gone_stores_nothing_and_answers_the_pixel(monkeypatch):
    send = make_send(campaign=make_campaign())
    sent_ago(monkeypatch, 600)
    path = pixel_path(personalized(send.pk + 1000))
    assert Client().get(path, HTTP_USER_AGENT=CHROME).status_code == 200
    assert not Activity.objects.exists()
