"""Tier 2: an event recorded by the web side is scored by the real worker, once."""

import pytest
from django.db import transaction

from leads import stream
from leads.models import Activity, Lead
from mautomation.tasks import ping
from scoring.models import ScoreEntry, ScoringRule
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_event_is_scored_by_the_worker_after_commit(celery_worker):
    ScoringRule.objects.create(
        name="事例ページ閲覧", event_kind=Activity.Kind.PAGE_VIEW, url_pattern="/case-studies/", points=5
    )
    lead = Lead.objects.create(email="worker@example.com")
    with transaction.atomic():
        activity = stream.record(kind=Activity.Kind.PAGE_VIEW, lead=lead, url="https://example.com/case-studies/a/")
    assert wait_for(lambda: Lead.objects.get(pk=lead.pk).score == 5)
    assert Activity.objects.get(pk=activity.pk).processed_at is not None


def test_redelivered_event_is_not_scored_twice(celery_worker):
    from leads.tasks import process_activities

    ScoringRule.objects.create(name="資料請求", event_kind=Activity.Kind.FORM_SUBMIT, points=20)
    lead = Lead.objects.create(email="twice@example.com")
    with transaction.atomic():
        activity = stream.record(kind=Activity.Kind.FORM_SUBMIT, lead=lead)
    assert wait_for(lambda: Activity.objects.get(pk=activity.pk).processed_at is not None)
    process_activities.delay([activity.pk, activity.pk])  # a redelivery, twice over
    ping.delay("after").get(timeout=20)  # the solo worker runs tasks in order: the redelivery is done
    assert ScoreEntry.objects.filter(lead=lead).count() == 1
    assert Lead.objects.get(pk=lead.pk).score == 20
