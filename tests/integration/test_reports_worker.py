"""Tier 2: the report is exact while the real worker processes events, before, during and after."""

from datetime import timedelta

import pytest
from django.db import transaction

from campaigns.models import Campaign
from leads import stream
from leads.models import Activity, Lead
from leads.tasks import process_activities
from mautomation.tasks import ping
from reports import funnel
from reports.funnel import Scope
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WEEK = timedelta(days=7)


def test_counts_are_the_same_before_and_after_the_worker_processes_the_events(celery_worker):
    mail = Campaign.objects.create(name="worker", content_type="seminar")
    people = [Lead.objects.create(email=f"w{i}@example.jp") for i in range(3)]
    with transaction.atomic():
        events = [stream.record(kind=kind, lead=lead, campaign_id=mail.pk)
                  for lead in people for kind in ("email_sent", "email_opened", "email_opened")]  # fmt: skip
        stream.record(kind="email_clicked", lead=people[0], campaign_id=mail.pk)
        stream.record(kind="download", lead=people[0])
        before = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)  # nothing processed yet
    assert (before.sent, before.opens, before.opens_total, before.clicks) == (3, 3, 6, 1)
    ids = [e.pk for e in events]
    assert wait_for(lambda: not Activity.objects.filter(pk__in=ids, processed_at__isnull=True).exists())
    process_activities.delay(ids)  # a redelivery: the rollup must not count anything twice
    ping.delay("after").get(timeout=20)
    assert wait_for(lambda: funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK).conversions == 1)
    after = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)
    assert (after.sent, after.opens, after.opens_total, after.clicks) == (3, 3, 6, 1)
