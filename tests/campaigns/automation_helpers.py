"""Builders for automation tests: sequences with steps, mailable leads, events through the stream."""

import pytest
from django.test import TestCase
from django.utils import timezone

from campaigns.automation_models import Entry, Sequence, Step, Trigger
from campaigns.models import Send
from leads import stream
from leads.models import Activity, Lead
from tests.factories import make_lead, make_template


def make_sequence(*steps: dict, name: str = "資料DL後フォロー", status: str = "active", **fields) -> Sequence:
    """A sequence with one step per dict (delay, unit, window…); one immediate step when none is given."""
    fields.setdefault("entry", Entry.FORM_SUBMIT)
    sequence = Sequence.objects.create(name=name, status=status, **fields)
    for order, step in enumerate(steps or [{"delay": 0}], 1):
        step = {"template": step.get("template") or make_template(name=f"{name} {order}"), **step}
        Step.objects.create(sequence=sequence, order=order * 10, **step)
    return sequence


def steps_of(sequence: Sequence) -> list[Step]:
    return list(sequence.steps.order_by("order"))


def mailable(email: str = "taro@example.com", **fields) -> Lead:
    return make_lead(email, consent=True, **fields)


def event(lead: Lead, kind: str = Activity.Kind.PAGE_VIEW, **fields) -> Activity:
    """Record an event and run the stream's consumers on it, as a worker would, with what they queue after commit."""
    activity = stream.record(kind=kind, lead=lead, **fields)
    with TestCase.captureOnCommitCallbacks(execute=True):
        stream.process(activity.pk)
    return activity


def make_trigger(**fields) -> Trigger:
    if fields.get("action", "send_email") == "send_email" and "template" not in fields:
        fields["template"] = make_template(name="料金比較表")
    return Trigger.objects.create(name=fields.pop("name", "料金ページ閲覧"), **fields)


@pytest.fixture
def delivered(monkeypatch) -> list[int]:
    """Delivery replaced by marking the rows sent (the sending module has its own tests); the ids, in order."""
    ids: list[int] = []

    def deliver(*, send_ids, template) -> int:
        count = Send.objects.filter(pk__in=send_ids, status=Send.Status.PENDING).update(
            status=Send.Status.SENT, sent_at=timezone.now()
        )
        ids.extend(send_ids)
        return count

    monkeypatch.setattr("campaigns.automation_sending._deliver", deliver)
    return ids


@pytest.fixture
def english():
    """Messages are compared in English (the default language is Japanese)."""
    from django.utils import translation

    with translation.override("en"):
        yield
