"""A new hot lead reaches its owner at once, and each owner gets one daily digest of the day's new hot leads."""

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from leads.models import Activity, Lead
from sales import digest
from sales.models import DigestSent
from scoring.models import ScoringSettings
from tests.factories import make_lead
from tests.sales.helpers import hot_lead, users
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db


def with_email(user):
    user.email = f"{user.username}@example.com"
    user.save()
    return user


def test_a_new_hot_lead_reaches_its_owner_once_with_a_link_to_the_workspace(django_capture_on_commit_callbacks):
    owner = with_email(users()["sales"])
    ScoringSettings.objects.update_or_create(pk=1, defaults={"hot_threshold": 20})
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20)
    rule("閲覧", points=5)
    lead = make_lead("new@example.co.jp", last_name="山田")
    with django_capture_on_commit_callbacks(execute=True):
        event(lead, Activity.Kind.FORM_SUBMIT)
        event(lead)  # still hot: no second alert
    assert Lead.objects.get(pk=lead.pk).owner == owner
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
    assert f"/sales/leads/{lead.pk}/" in mail.outbox[0].body and "資料請求" in mail.outbox[0].body


def yesterday_at(hour: int) -> datetime:
    day = timezone.localdate() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def test_the_digest_lists_each_owners_new_hot_leads_once_a_day():
    people = users()
    mine, theirs = with_email(people["sales"]), with_email(people["other_sales"])
    first = hot_lead("a@example.co.jp", owner=mine, score=80, last_name="一番")
    second = hot_lead("b@example.co.jp", owner=mine, score=60)
    hot_lead("c@example.co.jp", owner=theirs)
    old = hot_lead("old@example.co.jp", owner=mine)
    Lead.objects.filter(pk__in=[first.pk, second.pk]).update(mql_at=yesterday_at(10))
    Lead.objects.filter(email__startswith="c@").update(mql_at=yesterday_at(23))
    Lead.objects.filter(pk=old.pk).update(mql_at=yesterday_at(10) - timedelta(days=3))
    assert digest.send_digests() == 2
    assert digest.send_digests() == 0  # idempotent per day
    call_command("send_hot_lead_digest")
    assert len(mail.outbox) == 2
    message = next(m for m in mail.outbox if m.to == [mine.email])
    assert "2" in message.subject and "一番" in message.body and f"/sales/leads/{first.pk}/" in message.body
    assert "old@example.co.jp" not in message.body
    assert DigestSent.objects.filter(day=timezone.localdate()).count() == 2


def test_the_periodic_job_waits_for_the_configured_hour(settings):
    owner = with_email(users()["sales"])
    lead = hot_lead(owner=owner)
    Lead.objects.filter(pk=lead.pk).update(mql_at=yesterday_at(9))
    settings.SALES_DIGEST_HOUR = 23
    seven = timezone.make_aware(datetime.combine(timezone.localdate(), time(7)))
    assert digest.send_due(now=seven) == 0
    settings.SALES_DIGEST_HOUR = 6
    assert digest.send_due(now=seven) == 1


def test_a_failed_send_is_tried_again_on_the_next_run(monkeypatch):
    owner = with_email(users()["sales"])
    lead = hot_lead(owner=owner)
    Lead.objects.filter(pk=lead.pk).update(mql_at=yesterday_at(9))
    monkeypatch.setattr(digest, "send_mail", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("smtp down")))
    with pytest.raises(ConnectionError):
        digest.send_digests()
    assert not DigestSent.objects.exists()
    monkeypatch.undo()
    assert digest.send_digests() == 1


def test_the_digest_is_in_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["send-hot-lead-digest"]["task"] == "sales.tasks.send_hot_lead_digest"
