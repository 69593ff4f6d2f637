"""Trigger emails and staff actions: an activity fires within the same processing, at most once per window."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.automation import run_due
from campaigns.automation_models import Trigger, TriggerFire
from campaigns.models import Send
from campaigns.triggers import trigger_problems
from leads.models import Activity, Lead, Tag
from tests.campaigns.automation_helpers import delivered, english, event, mailable, make_trigger  # noqa: F401
from tests.factories import make_lead, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "delivered")]
PRICING = "https://www.example.com/pricing/"


def test_a_pricing_page_view_sends_the_comparison_sheet_once():
    trigger = make_trigger(url_contains="/pricing")
    lead = mailable()
    event(lead, url=PRICING)
    event(lead, url=PRICING)
    fire = TriggerFire.objects.get()
    assert fire.status == TriggerFire.Status.DONE
    assert list(Send.objects.values_list("source", "status")) == [(f"trig:{fire.pk}", Send.Status.SENT)]
    assert fire.trigger == trigger


def test_other_pages_do_not_fire():
    make_trigger(url_contains="/pricing")
    event(mailable(), url="https://www.example.com/blog/")
    assert not TriggerFire.objects.exists()


def test_the_trigger_fires_again_after_its_window():
    make_trigger(url_contains="/pricing", once_per_days=7)
    lead = mailable()
    event(lead, url=PRICING)
    TriggerFire.objects.update(fired_at=timezone.now() - timedelta(days=8))
    event(lead, url=PRICING)
    assert TriggerFire.objects.count() == 2
    assert Send.objects.count() == 2


def test_a_delayed_trigger_waits_for_the_dispatcher():
    make_trigger(url_contains="/pricing", delay_minutes=30)
    lead = mailable()
    event(lead, url=PRICING)
    assert TriggerFire.objects.get().status == TriggerFire.Status.PENDING
    run_due(now=timezone.now() + timedelta(minutes=10))
    assert not Send.objects.exists()
    run_due(now=timezone.now() + timedelta(minutes=31))
    assert Send.objects.count() == 1


def test_an_unmailable_lead_is_skipped_by_an_email_trigger():
    make_trigger(url_contains="/pricing")
    event(make_lead(), url=PRICING)
    assert TriggerFire.objects.get().status == TriggerFire.Status.SKIPPED
    assert not Send.objects.exists()


def test_visited_pricing_twice_this_week_alerts_the_owner():
    owner = make_user("sales1")
    owner.email = "sales1@example.com"
    owner.save()
    make_trigger(name="料金2回", url_contains="/pricing", min_count=2, count_days=7, action="notify_owner")
    lead = mailable(owner=owner)
    event(lead, url=PRICING)
    assert not mail.outbox
    event(lead, url=PRICING)
    assert [m.to for m in mail.outbox] == [["sales1@example.com"]]
    assert "料金2回" in mail.outbox[0].subject


def test_add_tag_and_change_stage_actions():
    tag = Tag.objects.create(name="料金検討")
    make_trigger(name="tag", url_contains="/pricing", action="add_tag", tag=tag)
    make_trigger(name="stage", url_contains="/pricing", action="change_stage", stage=Lead.Stage.SQL)
    lead = mailable()
    event(lead, url=PRICING)
    lead.refresh_from_db()
    assert list(lead.tags.values_list("name", flat=True)) == ["料金検討"]
    assert lead.stage == Lead.Stage.SQL
    assert Activity.objects.filter(lead=lead, kind="stage_changed", data__to="sql").exists()


def test_webhook_action_posts_the_lead_and_records_a_failure(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    make_trigger(url_contains="/pricing", action="webhook", webhook_url="https://hooks.example.com/x")
    lead = mailable()
    with mock.patch("campaigns.actions.requests.post") as post:
        post.return_value.status_code = 500
        event(lead, url=PRICING)
    assert post.call_args.kwargs["json"]["lead"]["email"] == lead.email
    fire = TriggerFire.objects.get()
    assert fire.status == TriggerFire.Status.FAILED and "500" in fire.error


def test_a_failing_action_does_not_break_the_stream():
    make_trigger(url_contains="/pricing", action="webhook", webhook_url="https://hooks.example.com/x")
    lead = mailable()
    with mock.patch("campaigns.actions.requests.post", side_effect=ConnectionError("refused")):
        activity = event(lead, url=PRICING)
    assert Activity.objects.get(pk=activity.pk).processed_at is not None
    assert "refused" in TriggerFire.objects.get().error


def test_bad_triggers_are_refused_with_a_message(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert "template" in trigger_problems(trigger=Trigger(name="x", action="send_email"))
    assert "delay_minutes" in trigger_problems(trigger=Trigger(name="x", action="add_tag", delay_minutes=-5))
    assert "tag" in trigger_problems(trigger=Trigger(name="x", action="add_tag"))
    inside = Trigger(name="x", action="webhook", webhook_url="http://127.0.0.1:8000/admin/")
    assert "inside the network" in trigger_problems(trigger=inside)["webhook_url"]
