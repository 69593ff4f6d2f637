"""Builders for scoring tests."""

from datetime import datetime

from leads import stream
from leads.models import Activity, Lead
from scoring.models import ScoringRule


def rule(name: str, kind: str = Activity.Kind.PAGE_VIEW, points: int = 5, **fields) -> ScoringRule:
    return ScoringRule.objects.create(name=name, event_kind=kind, points=points, **fields)


def event(lead: Lead, kind: str = Activity.Kind.PAGE_VIEW, *, at: datetime | None = None, **fields) -> Activity:
    """Record an event and run the stream's consumers on it, as a worker would."""
    activity = stream.record(kind=kind, lead=lead, occurred_at=at, **fields)
    stream.process(activity.pk)
    return activity


def score(lead: Lead) -> int:
    return Lead.objects.values_list("score", flat=True).get(pk=lead.pk)
