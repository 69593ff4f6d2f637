"""Step sequences: entry, one email per step at its due time, exits, branches, pauses and safe edits."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from campaigns.automation import run_due
from campaigns.automation_models import Enrollment, Entry, Sequence, Step
from campaigns.models import Send
from campaigns.sequences import SequenceError, activate, enroll, sequence_problems, step_problems, unenroll
from campaigns.step_dispatch import dispatch_chunk
from leads.models import Activity, Lead, Segment
from tests.campaigns.automation_helpers import delivered, english, event, mailable, make_sequence, steps_of  # noqa: F401
from tests.factories import make_lead, make_template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "delivered")]
TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)
NURTURE = ({"delay": 0}, {"delay": 3}, {"delay": 4})  # day 0, day 3, day 7


def sources(lead: Lead) -> list[str]:
    return list(Send.objects.filter(lead=lead).order_by("pk").values_list("source", flat=True))


def enrollment(lead: Lead) -> Enrollment:
    return Enrollment.objects.filter(lead=lead).latest("pk")


def test_a_form_submit_enrolls_and_the_first_step_is_sent_once():
    sequence = make_sequence(*NURTURE, entry_form_id=7)
    lead = mailable()
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=7)
    run_due()
    run_due()
    first = steps_of(sequence)[0]
    assert sources(lead) == [f"step:{first.pk}:{enrollment(lead).pk}"]
    assert Send.objects.get(lead=lead).status == Send.Status.SENT
    assert enrollment(lead).step == steps_of(sequence)[1]


def test_another_form_does_not_enroll():
    make_sequence(entry_form_id=7)
    lead = mailable()
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=8)
    assert not Enrollment.objects.exists()


def test_each_step_goes_out_at_its_day_and_the_sequence_completes():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="manual", now=MONDAY_10)
    run_due(now=MONDAY_10)
    run_due(now=MONDAY_10 + timedelta(days=2, hours=23))  # not yet day 3
    assert len(sources(lead)) == 1
    run_due(now=MONDAY_10 + timedelta(days=3, minutes=1))
    assert len(sources(lead)) == 2
    assert enrollment(lead).next_due_at == MONDAY_10 + timedelta(days=7, minutes=1)
    run_due(now=MONDAY_10 + timedelta(days=8))
    assert len(sources(lead)) == 3
    assert enrollment(lead).status == Enrollment.Status.COMPLETED
    assert enrollment(lead).next_due_at is None


def test_a_step_due_outside_its_window_waits_for_the_next_opening():
    office = {"delay": 3, "weekdays": "01234", "window_start": time(9), "window_end": time(18)}
    sequence = make_sequence({"delay": 0}, office, entry=Entry.MANUAL)
    lead = mailable()
    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=TOKYO)
    enroll(sequence=sequence, lead_ids=[lead.pk], source="manual", now=friday_night)
    run_due(now=friday_night)
    assert enrollment(lead).next_due_at == datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)  # Mon 21:00 → Tue 9:00
    run_due(now=datetime(2026, 12, 1, 8, 59, tzinfo=TOKYO))
    assert len(sources(lead)) == 1
    run_due(now=datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO))
    assert len(sources(lead)) == 2


def test_dispatching_the_same_moment_twice_sends_each_step_once():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    leads = [mailable(f"l{i}@example.com") for i in range(5)]
    enroll(sequence=sequence, lead_ids=[lead.pk for lead in leads], source="api", now=MONDAY_10)
    first = dispatch_chunk(now=MONDAY_10)
    second = dispatch_chunk(now=MONDAY_10)
    assert (first.steps, second.steps) == (5, 0)
    assert Send.objects.count() == 5
    assert Send.objects.values("source", "lead").distinct().count() == 5


def test_a_lead_is_never_enrolled_twice_at_once():
    sequence = make_sequence(entry=Entry.MANUAL)
    lead = mailable()
    assert enroll(sequence=sequence, lead_ids=[lead.pk], source="api").enrolled == 1
    assert enroll(sequence=sequence, lead_ids=[lead.pk], source="api").already == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(sequence=sequence, lead=lead)
    assert Enrollment.objects.filter(lead=lead).count() == 1


@pytest.mark.parametrize(("reentry", "expected"), [(False, 1), (True, 2)])
def test_re_entry_after_finishing_follows_the_sequence_setting(reentry, expected):
    sequence = make_sequence(entry_form_id=7, reentry=reentry)
    lead = mailable()
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=7)
    run_due()
    assert enrollment(lead).status == Enrollment.Status.COMPLETED
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=7)
    assert Enrollment.objects.filter(lead=lead, sequence=sequence).count() == expected


def test_enrolling_an_unmailable_lead_is_recorded_and_skipped_not_an_error():
    sequence = make_sequence(entry=Entry.MANUAL)
    no_consent, unsubscribed = make_lead("a@example.com"), mailable("b@example.com", email_status="unsubscribed")
    result = enroll(sequence=sequence, lead_ids=[no_consent.pk, unsubscribed.pk], source="api")
    run_due()
    assert (result.enrolled, result.skipped) == (0, 2)
    assert set(Enrollment.objects.values_list("status", flat=True)) == {Enrollment.Status.SKIPPED}
    assert not Send.objects.exists()


def test_enrolling_into_a_sequence_without_steps_is_refused_with_a_message():
    sequence = Sequence.objects.create(name="empty", status=Sequence.Status.ACTIVE)
    with pytest.raises(SequenceError, match="no steps"):
        enroll(sequence=sequence, lead_ids=[mailable().pk], source="api")


def test_a_paused_sequence_keeps_due_steps_waiting_until_it_is_resumed():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api", now=MONDAY_10)
    Sequence.objects.filter(pk=sequence.pk).update(status=Sequence.Status.PAUSED)
    run_due(now=MONDAY_10 + timedelta(days=1))
    assert sources(lead) == []
    activate(sequence=sequence)
    run_due(now=MONDAY_10 + timedelta(days=1))
    assert len(sources(lead)) == 1


def test_unsubscribing_ends_the_enrollment_on_the_stream():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api", now=MONDAY_10)
    run_due(now=MONDAY_10)
    Lead.objects.filter(pk=lead.pk).update(email_status="unsubscribed")
    event(lead, Activity.Kind.UNSUBSCRIBED)
    run_due(now=MONDAY_10 + timedelta(days=30))
    assert len(sources(lead)) == 1
    assert enrollment(lead).status == Enrollment.Status.EXITED


def test_a_lead_made_an_opportunity_in_the_admin_exits_at_dispatch():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api", now=MONDAY_10)
    Lead.objects.filter(pk=lead.pk).update(stage=Lead.Stage.OPPORTUNITY)  # no activity recorded
    result = run_due(now=MONDAY_10)
    assert (result["steps"], result["exited"]) == (0, 1)
    assert enrollment(lead).reason == "became an opportunity"


def test_submitting_the_goal_form_ends_the_sequence():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL, goal_form_id=99)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api", now=MONDAY_10)
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=99)
    assert enrollment(lead).status == Enrollment.Status.EXITED
    assert enrollment(lead).reason == "submitted the goal form"


def test_entering_the_exit_segment_ends_the_sequence_at_dispatch():
    segment = Segment.objects.create(name="大企業", conditions=[{"field": "company_name", "op": "contains",
                                                                  "value": "大"}])  # fmt: skip
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL, exit_segment=segment)
    inside, outside = mailable("a@example.com", company_name="大商事"), mailable("b@example.com")
    enroll(sequence=sequence, lead_ids=[inside.pk, outside.pk], source="api", now=MONDAY_10)
    run_due(now=MONDAY_10)
    assert sources(inside) == [] and len(sources(outside)) == 1
    assert enrollment(inside).reason == "entered the exit segment"


def test_branch_on_open_sends_to_readers_and_moves_others_on():
    sequence = make_sequence({"delay": 0}, {"delay": 1, "condition": "opened"}, {"delay": 1}, entry=Entry.MANUAL)
    reader, other = mailable("r@example.com"), mailable("o@example.com")
    enroll(sequence=sequence, lead_ids=[reader.pk, other.pk], source="api", now=MONDAY_10)
    run_due(now=MONDAY_10)
    Activity.objects.create(lead=reader, kind=Activity.Kind.EMAIL_OPENED, occurred_at=MONDAY_10 + timedelta(hours=1))
    run_due(now=MONDAY_10 + timedelta(days=1, minutes=1))
    _day0, opened_step, last = steps_of(sequence)
    assert f"step:{opened_step.pk}:{enrollment(reader).pk}" in sources(reader)
    assert not any(s.startswith(f"step:{opened_step.pk}:") for s in sources(other))
    assert enrollment(other).step == last


def test_branch_otherwise_jumps_forward_to_the_chosen_step():
    sequence = make_sequence({"delay": 0}, {"delay": 1, "condition": "clicked"}, {"delay": 1}, {"delay": 1},
                             entry=Entry.MANUAL)  # fmt: skip
    _first, branch, _third, fourth = steps_of(sequence)
    Step.objects.filter(pk=branch.pk).update(otherwise=fourth)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api", now=MONDAY_10)
    run_due(now=MONDAY_10)
    run_due(now=MONDAY_10 + timedelta(days=1, minutes=1))
    assert enrollment(lead).step == fourth


def test_bad_steps_are_refused_with_clear_messages():
    sequence = make_sequence({"delay": 0}, {"delay": 1})
    first, second = steps_of(sequence)
    missing = Step(sequence=sequence, order=30, template=None, delay=-1, window_start=time(18), window_end=time(9))
    problems = step_problems(step=missing)
    assert "template" in problems and "negative" in problems["delay"] and "window_end" in problems
    loop = Step(sequence=sequence, order=second.order, template=first.template, condition="opened", otherwise=first)
    assert "loop" in step_problems(step=loop)["otherwise"]
    assert step_problems(step=Step(sequence=sequence, order=1, template=first.template, weekdays="0078"))["weekdays"]


def test_activating_a_sequence_with_a_bad_step_is_refused():
    sequence = make_sequence({"delay": 0}, status=Sequence.Status.PAUSED)
    Step.objects.create(sequence=sequence, order=99, template=None, delay=-2)
    with pytest.raises(SequenceError, match="Step 2"):
        activate(sequence=sequence)
    assert Sequence.objects.get(pk=sequence.pk).status == Sequence.Status.PAUSED
    assert len(sequence_problems(sequence=sequence)) == 2


def test_editing_the_sequence_keeps_enrolled_leads_on_their_step():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api", now=MONDAY_10)
    run_due(now=MONDAY_10)
    waiting = enrollment(lead).step
    Step.objects.create(sequence=sequence, order=1, template=make_template(name="new first"))  # inserted before
    assert enrollment(lead).step == waiting
    run_due(now=MONDAY_10 + timedelta(days=3, minutes=1))
    assert sources(lead)[-1].startswith(f"step:{waiting.pk}:")


def test_deleting_a_step_leads_are_waiting_on_is_refused():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api")
    with pytest.raises(ProtectedError):
        enrollment(lead).step.delete()


def test_unenroll_ends_it_and_the_timeline_shows_the_story():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    lead = mailable()
    enroll(sequence=sequence, lead_ids=[lead.pk], source="api")
    assert unenroll(sequence=sequence, lead_ids=[lead.pk]) == 1
    story = [a.data["automation"] for a in Activity.objects.filter(lead=lead, kind="custom").order_by("pk")]
    assert story == ["enrolled", "exited"]


def test_dispatch_queries_do_not_grow_with_the_number_of_leads():
    sequence = make_sequence(*NURTURE, entry=Entry.MANUAL)
    few = [mailable(f"f{i}@example.com").pk for i in range(3)]
    many = [mailable(f"m{i}@example.com").pk for i in range(40)]
    enroll(sequence=sequence, lead_ids=few, source="api", now=MONDAY_10)
    with CaptureQueriesContext(connection) as small:
        dispatch_chunk(now=MONDAY_10)
    enroll(sequence=sequence, lead_ids=many, source="api", now=MONDAY_10)
    with CaptureQueriesContext(connection) as large:
        dispatch_chunk(now=MONDAY_10)
    assert len(large) == len(small)
