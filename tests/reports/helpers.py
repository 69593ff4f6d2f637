"""Builders for report tests: campaigns and their email events, in bulk or one by one."""

from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.models import Campaign
from leads import stream
from leads.models import Activity, Lead
from reports import rollup

# Ten days ago: inside every default window (conversion 7 days after a click, opportunity 90 days after a send).
T0 = (timezone.now() - timedelta(days=10)).replace(microsecond=0)


def campaign(name: str = "秋のセミナー案内", content_type: str = "seminar", **fields) -> Campaign:
    return Campaign.objects.create(name=name, content_type=content_type, **fields)


def leads(count: int, prefix: str = "p") -> list[Lead]:
    Lead.objects.bulk_create(
        Lead(email=f"{prefix}{i}@example.jp", email_key=f"{prefix}{i}@example.jp", consent=True) for i in range(count)
    )
    return list(Lead.objects.filter(email_key__startswith=prefix).order_by("pk"))


def bulk_events(rows: list[tuple[Lead, str, int | None, datetime, dict]]) -> None:
    """(lead, kind, campaign id, when, data) rows saved as already processed, then the rollup rebuilt."""
    Activity.objects.bulk_create(
        Activity(lead=lead, kind=kind, campaign_id=cid, occurred_at=at, data=data, processed_at=timezone.now())
        for lead, kind, cid, at, data in rows
    )
    rollup.rebuild()


def event(lead: Lead, kind: str, *, campaign_id: int | None = None, at: datetime | None = None, process: bool = True,
          **fields) -> Activity:  # fmt: skip
    """Record an event and, unless told otherwise, run the stream's consumers on it as a worker would."""
    activity = stream.record(kind=kind, lead=lead, campaign_id=campaign_id, occurred_at=at or T0, **fields)
    if process:
        stream.process(activity.pk)
    return activity


def seed_example(campaign_id: int) -> list[Lead]:
    """The seed's funnel: 5,102 sent, 102 bounced, 1,000 unique opens, 100 unique clicks, 10 conversions.

    Openers open twice and clickers click twice, so unique and total counts differ.
    """
    people = leads(5102)
    rows = [(lead, "email_sent", campaign_id, T0, {}) for lead in people]
    rows += [(lead, "email_bounced", campaign_id, T0, {}) for lead in people[:102]]
    for i, lead in enumerate(people[102:1102]):
        rows += [(lead, "email_opened", campaign_id, T0 + timedelta(hours=h), {}) for h in (1, 5)]
        if i < 100:
            rows += [(lead, "email_clicked", campaign_id, T0 + timedelta(hours=h), {}) for h in (2, 6)]
        if i < 10:
            rows.append((lead, "form_submit", None, T0 + timedelta(hours=3), {}))
    bulk_events(rows)
    return people
