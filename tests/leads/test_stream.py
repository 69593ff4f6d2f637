"""The activity stream: recording events, and handing each to the consumers exactly once."""

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads import stream, tasks
from leads.models import Activity, Lead, VisitorLink
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

PAGE_VIEW = Activity.Kind.PAGE_VIEW
VID = "visitor-0123456789abcdef"
NOW = timezone.now()


@pytest.fixture
def consumed(monkeypatch):
    """A consumer in place of the real ones: the ids of the activities it ran on, in order."""
    seen: list[int] = []
    monkeypatch.setattr(stream, "_consumers", {})
    stream.register("test", lambda activity: seen.append(activity.pk))
    return seen


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.process_activities, "apply_async", refuse)


def test_recording_the_same_dedup_key_twice_keeps_one_row():
    lead = make_lead()
    first = stream.record(kind=Activity.Kind.EMAIL_OPENED, lead=lead, dedup_key="esp:msg-1:open")
    second = stream.record(kind=Activity.Kind.EMAIL_OPENED, lead=lead, dedup_key="esp:msg-1:open")
    assert first.pk == second.pk and Activity.objects.count() == 1


def test_events_without_a_dedup_key_are_all_kept():
    lead = make_lead()
    stream.record(kind=PAGE_VIEW, lead=lead)
    stream.record(kind=PAGE_VIEW, lead=lead)
    assert Activity.objects.count() == 2


def test_a_recorded_event_is_dispatched_after_commit_and_processed(consumed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        activity = stream.record(kind=PAGE_VIEW, lead=make_lead())
    assert consumed == [activity.pk]
    activity.refresh_from_db()
    assert activity.processed_at is not None


def test_processing_twice_runs_the_consumers_once(consumed):
    activity = stream.record(kind=PAGE_VIEW, lead=make_lead())
    assert stream.process(activity.pk) is True
    assert stream.process(activity.pk) is False
    assert consumed == [activity.pk]


def test_every_registered_consumer_runs_and_registering_a_name_again_replaces_it(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(stream, "_consumers", {})
    stream.register("scoring", lambda activity: calls.append("old scoring"))
    stream.register("scoring", lambda activity: calls.append("scoring"))
    stream.register("notify", lambda activity: calls.append("notify"))
    stream.process(stream.record(kind=PAGE_VIEW, lead=make_lead()).pk)
    assert calls == ["scoring", "notify"]


def test_a_failing_consumer_leaves_the_event_pending_for_a_later_sweep(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(stream, "_consumers", {})

    def flaky(activity: Activity) -> None:
        calls.append(activity.pk)
        if len(calls) == 1:
            raise RuntimeError("scoring database hiccup")

    stream.register("flaky", flaky)
    activity = stream.record(kind=PAGE_VIEW, lead=make_lead(), occurred_at=NOW - timedelta(minutes=5))
    with pytest.raises(RuntimeError):
        stream.process(activity.pk)
    activity.refresh_from_db()
    assert activity.processed_at is None
    assert stream.sweep() == 1
    activity.refresh_from_db()
    assert activity.processed_at is not None and calls == [activity.pk, activity.pk]


def test_the_sweep_logs_a_failing_event_and_goes_on_with_the_others(monkeypatch, caplog):
    lead = make_lead()
    bad, good = (stream.record(kind=PAGE_VIEW, lead=lead, occurred_at=NOW - timedelta(minutes=m)) for m in (9, 8))
    monkeypatch.setattr(stream, "_consumers", {})

    def picky(activity: Activity) -> None:
        if activity.pk == bad.pk:
            raise ValueError("cannot score this one")

    stream.register("picky", picky)
    with caplog.at_level(logging.ERROR, logger="leads.stream"):
        assert stream.sweep() == 1
    assert f"activity {bad.pk} failed" in caplog.text
    assert list(Activity.objects.filter(processed_at=None).values_list("pk", flat=True)) == [bad.pk]


def test_the_sweep_picks_up_events_whose_dispatch_was_lost(
    consumed, broker_down, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.WARNING, logger="leads.stream"), django_capture_on_commit_callbacks(execute=True):
        activity = stream.record(kind=PAGE_VIEW, lead=make_lead(), occurred_at=NOW - timedelta(minutes=1))
    assert "broker unavailable" in caplog.text
    assert consumed == []
    assert stream.sweep() == 1
    assert consumed == [activity.pk]


def test_the_sweep_leaves_fresh_events_to_their_own_dispatch(consumed):
    stream.record(kind=PAGE_VIEW, lead=make_lead())  # just now: its dispatch may still be on its way
    assert stream.sweep() == 0
    assert stream.sweep(older_than=timedelta(0)) == 1


def test_events_without_a_lead_are_not_processed_until_the_visitor_is_identified(
    consumed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        views = [stream.record(kind=PAGE_VIEW, visitor_id=VID, occurred_at=NOW - timedelta(hours=h)) for h in (3, 2)]
    assert stream.process(views[0].pk) is False
    assert stream.sweep(older_than=timedelta(0)) == 0 and consumed == []
    lead = make_lead()
    with django_capture_on_commit_callbacks(execute=True):
        assert stream.identify(visitor_id=VID, lead=lead) == 2
    assert sorted(consumed) == sorted(view.pk for view in views)
    assert set(Activity.objects.values_list("lead", flat=True)) == {lead.pk}


def test_after_identification_new_events_of_the_visitor_land_on_the_lead():
    lead = make_lead()
    stream.identify(visitor_id=VID, lead=lead)
    assert stream.record(kind=PAGE_VIEW, visitor_id=VID).lead == lead


def test_a_shared_visitor_id_is_relinked_for_future_events_only():
    first, second = make_lead("first@example.com"), make_lead("second@example.com")
    stream.identify(visitor_id=VID, lead=first)
    earlier = stream.record(kind=PAGE_VIEW, visitor_id=VID)
    assert stream.identify(visitor_id=VID, lead=second) == 0
    later = stream.record(kind=PAGE_VIEW, visitor_id=VID)
    earlier.refresh_from_db()
    assert (earlier.lead, later.lead) == (first, second)
    assert VisitorLink.objects.get().lead == second


def test_identify_without_a_visitor_id_does_nothing():
    assert stream.identify(visitor_id="", lead=make_lead()) == 0
    assert not VisitorLink.objects.exists()


def test_last_activity_at_follows_the_newest_event():
    lead = make_lead()
    newest, older = NOW - timedelta(minutes=1), NOW - timedelta(days=2)
    stream.record(kind=PAGE_VIEW, lead=lead, occurred_at=newest)
    stream.record(kind=PAGE_VIEW, lead=lead, occurred_at=older)  # arrives late: must not move it back
    lead.refresh_from_db()
    assert lead.last_activity_at == newest


def test_identify_moves_last_activity_at_to_the_visitors_latest_view():
    lead = make_lead()
    latest = NOW - timedelta(minutes=10)
    stream.record(kind=PAGE_VIEW, visitor_id=VID, occurred_at=latest - timedelta(hours=1))
    stream.record(kind=PAGE_VIEW, visitor_id=VID, occurred_at=latest)
    stream.identify(visitor_id=VID, lead=lead)
    lead.refresh_from_db()
    assert lead.last_activity_at == latest


def test_the_process_activities_command_runs_the_sweep(consumed, capsys):
    stream.record(kind=PAGE_VIEW, lead=make_lead(), occurred_at=NOW - timedelta(minutes=5))
    call_command("process_activities")
    assert capsys.readouterr().out.strip() == "processed 1"
    assert len(consumed) == 1


def test_system_events_are_recorded_in_bulk_and_each_processed_once(consumed, django_capture_on_commit_callbacks):
    leads = [make_lead(f"l{n}@example.com") for n in range(5)]
    events = [Activity(lead=lead, kind=Activity.Kind.STAGE_CHANGED, data={"to": "mql"}) for lead in leads]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = stream.record_system_events(events, batch=2)
    assert len(callbacks) == 3  # one dispatch per batch of ids
    assert sorted(consumed) == sorted(ids) and len(ids) == 5
    touched = Lead.objects.filter(pk__in=[lead.pk for lead in leads], last_activity_at__isnull=False)
    assert not touched.exists()  # a system event does not make a lead active


def test_bulk_recording_refuses_events_a_person_did():
    lead = make_lead()
    with pytest.raises(ValueError):
        stream.record_system_events([Activity(lead=lead, kind=PAGE_VIEW)])
    assert not Activity.objects.exists()


def _unprocessed(kinds: list[str]) -> list[Activity]:
    lead = make_lead()
    return Activity.objects.bulk_create(Activity(lead=lead, kind=kind, occurred_at=NOW) for kind in kinds)


def test_a_batch_hands_each_consumer_only_the_kinds_it_reads_and_marks_every_event(monkeypatch):
    monkeypatch.setattr(stream, "_consumers", {})
    seen: dict[str, list[str]] = {"views": [], "all_but_sent": [], "batches": []}
    stream.register("views", lambda a: seen["views"].append(a.kind), only={PAGE_VIEW})
    stream.register("all_but_sent", lambda a: seen["all_but_sent"].append(a.kind), ignores={"email_sent"})
    stream.register("tally", lambda a: None, only={"email_sent"},
                    batch=lambda batch: seen["batches"].append([a.kind for a in batch]))  # fmt: skip
    events = _unprocessed(["email_sent", PAGE_VIEW, "email_sent", "form_submit"])
    assert stream.process_many([a.pk for a in events]) == 4
    assert seen == {"views": [PAGE_VIEW], "all_but_sent": [PAGE_VIEW, "form_submit"],
                    "batches": [["email_sent", "email_sent"]]}  # fmt: skip
    assert not Activity.objects.filter(processed_at=None).exists()
    assert stream.process_many([a.pk for a in events]) == 0  # exactly once


def test_an_event_no_consumer_reads_is_marked_without_being_loaded(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(stream, "_consumers", {})
    stream.register("views", lambda a: None, only={PAGE_VIEW})
    events = _unprocessed(["email_sent"] * 50)
    with django_assert_num_queries(5):  # savepoint, lock, mark, read (finds none), release
        assert stream.process_many([a.pk for a in events]) == 50


def test_a_failing_event_in_a_batch_stays_pending_and_the_others_go_through(monkeypatch, caplog):
    monkeypatch.setattr(stream, "_consumers", {})
    events = _unprocessed([PAGE_VIEW] * 3)
    bad = events[1].pk

    def picky(activity: Activity) -> None:
        if activity.pk == bad:
            raise ValueError("cannot take this one")

    stream.register("picky", picky)
    with pytest.raises(ValueError, match="cannot take this one"), caplog.at_level(logging.ERROR, "leads.stream"):
        stream.process_many([a.pk for a in events])
    assert list(Activity.objects.filter(processed_at=None).values_list("pk", flat=True)) == [bad]
    assert f"activity {bad} failed" in caplog.text
