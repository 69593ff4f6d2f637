"""Two events of one lead scored at the same moment by two workers: the score is the sum of both (PostgreSQL).

Found by the production journey: a visitor's page view (attached when the form
identified them) and the form submit were scored by two worker processes at
once, and the lead kept 5 points of 25.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from leads.models import Activity
from scoring.ledger import score_activity
from scoring.models import ScoringRule, ScoringSettings
from tests.factories import make_activity, make_lead

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is otherwise frozen
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def score_in_thread(activity: Activity, *, before_commit=lambda: None) -> threading.Thread:
    def run() -> None:
        try:
            with transaction.atomic():
                score_activity(Activity.objects.select_related("lead").get(pk=activity.pk))
                before_commit()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_two_events_of_one_lead_scored_at_once_both_count() -> None:
    ScoringRule.objects.create(name="事例", event_kind=Activity.Kind.PAGE_VIEW, points=5)
    ScoringRule.objects.create(name="フォーム", event_kind=Activity.Kind.FORM_SUBMIT, points=20)
    ScoringSettings.load()  # exists already, as in production: its creation would make the two take turns
    lead = make_lead("both@example.com")
    view, submit = make_activity(lead), make_activity(lead, Activity.Kind.FORM_SUBMIT)
    first_done, second_waits = threading.Event(), threading.Event()

    def hold_until_the_other_waits() -> None:
        first_done.set()
        for _ in range(200):  # the other transaction now waits on ours (a lock), or never started: then go on
            if second_waits.is_set() and lock_waiters():
                return
            time.sleep(0.05)

    first = score_in_thread(view, before_commit=hold_until_the_other_waits)
    assert first_done.wait(30)
    second_waits.set()
    second = score_in_thread(submit)
    first.join(30), second.join(30)
    lead.refresh_from_db()
    assert (lead.score, lead.score_entries.count()) == (25, 2)
