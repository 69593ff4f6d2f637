"""Entry triggers other than a form: downloads, stage, score, lists, segments; the periodic command; stragglers."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.automation_models import Enrollment, Entry
from campaigns.automation_sending import redeliver_pending, templates_of
from campaigns.models import Send
from leads.lists import add_to_list
from leads.models import Activity, Lead, LeadList, Segment
from scoring.models import ScoringRule
from tests.campaigns.automation_helpers import (  # noqa: F401
    delivered,
    english,
    event,
    mailable,
    make_sequence,
    make_trigger,
    steps_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "delivered")]


def enrolled(lead: Lead) -> list[str]:
    return list(Enrollment.objects.filter(lead=lead).values_list("status", flat=True))


def test_a_download_of_the_named_asset_enrolls():
    make_sequence(entry=Entry.DOWNLOAD, entry_url="whitepaper-dx.pdf")
    lead, other = mailable("a@example.com"), mailable("b@example.com")
    event(lead, Activity.Kind.DOWNLOAD, url="https://www.example.com/files/whitepaper-dx.pdf")
    event(other, Activity.Kind.DOWNLOAD, url="https://www.example.com/files/price.pdf")
    assert (enrolled(lead), enrolled(other)) == (["completed"], [])


def test_a_stage_change_to_the_entry_stage_enrolls():
    make_sequence(entry=Entry.STAGE_CHANGED, entry_stage=Lead.Stage.MQL)
    lead = mailable()
    event(lead, Activity.Kind.STAGE_CHANGED, data={"from": "lead", "to": "mql"})
    assert enrolled(lead) == ["completed"]


def test_reaching_the_score_enrolls_once_even_with_re_entry():
    ScoringRule.objects.create(name="料金", event_kind="page_view", url_pattern="/pricing", points=30)
    make_sequence(entry=Entry.SCORE_REACHED, entry_score=50, reentry=True)
    lead = mailable()
    event(lead, url="https://www.example.com/pricing/")
    assert enrolled(lead) == []
    event(lead, url="https://www.example.com/pricing/")  # scoring runs first: 60 now
    event(lead, url="https://www.example.com/pricing/")
    assert enrolled(lead) == ["completed"]


def test_joining_the_entry_list_enrolls_on_the_next_periodic_run():
    lead_list = LeadList.objects.create(name="セミナー申込")
    make_sequence({"delay": 1}, entry=Entry.LIST_JOINED, entry_list=lead_list)
    before, after = mailable("a@example.com"), mailable("b@example.com")
    add_to_list(lead_list=lead_list, leads=Lead.objects.filter(pk=after.pk), source="admin")
    call_command("dispatch_due_steps", stdout=StringIO())
    call_command("dispatch_due_steps", stdout=StringIO())
    assert (enrolled(before), enrolled(after)) == ([], ["active"])


def test_entering_the_entry_segment_enrolls_once_and_skips_unmailable_once():
    segment = Segment.objects.create(name="部長", conditions=[{"field": "title", "op": "contains", "value": "部長"}])
    make_sequence({"delay": 1}, entry=Entry.SEGMENT_ENTERED, entry_segment=segment)
    inside, unmailable = mailable("a@example.com", title="営業部長"), Lead.objects.create(email="b@x.jp", title="部長")
    out = StringIO()
    call_command("dispatch_due_steps", stdout=out)
    call_command("dispatch_due_steps", stdout=StringIO())
    assert (enrolled(inside), enrolled(unmailable)) == (["active"], ["skipped"])
    assert "entered=1" in out.getvalue()


def test_a_paused_sequence_takes_no_one_from_the_stream():
    make_sequence(entry_form_id=7, status="paused")
    lead = mailable()
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=7)
    assert enrolled(lead) == []


def test_sends_left_pending_are_delivered_by_a_later_pass():
    sequence = make_sequence()
    trigger = make_trigger()
    lead = mailable()
    step = steps_of(sequence)[0]
    old = timezone.now() - timedelta(minutes=5)
    Send.objects.create(source=f"step:{step.pk}:1", lead=lead, email=lead.email, created_at=old)
    fresh = Send.objects.create(source=f"step:{step.pk}:2", lead=lead, email="x@example.com")
    fire = trigger.fires.create(lead=lead, status="done")
    Send.objects.create(source=f"trig:{fire.pk}", lead=lead, email=lead.email, created_at=old)
    assert redeliver_pending() == 2
    assert Send.objects.get(pk=fresh.pk).status == Send.Status.PENDING  # its own delivery may still be coming
    odd = [f"step:{step.pk}:1", "step:999999:1", "trig:abc", "step:1"]
    assert templates_of(odd) == {step.template_id: [f"step:{step.pk}:1"]}
