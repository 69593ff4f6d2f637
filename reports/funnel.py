"""Email funnel counts for a scope (one campaign, every campaign of a template, later a sequence step).

The counts come from the rollup (reports/models.py) plus the events the stream has not processed
yet, read from the activity table; an event is in exactly one of the two at any moment, and both
are read in one snapshot (reports.snapshot), so the report is exact while events arrive. A scope
is a list of campaign ids: a sequence step becomes one more constructor of Scope once steps exist.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q

from leads.models import Activity
from reports import rollup
from reports.metrics import Funnel
from reports.models import Conversion, Counter, Touch


@dataclass(frozen=True)
class Scope:
    """Which emails a funnel counts."""

    campaign_ids: tuple[int, ...]

    @classmethod
    def campaign(cls, campaign_id: int) -> "Scope":
        return cls(campaign_ids=(campaign_id,))

    @classmethod
    def campaigns(cls, campaign_ids) -> "Scope":
        return cls(campaign_ids=tuple(sorted(campaign_ids)))


@dataclass
class Counts:
    sent: int = 0
    delivered_events: int = 0  # delivery receipts from the ESP; "delivered" in rates is sent − bounces
    bounced: int = 0
    opens: int = 0
    opens_total: int = 0
    clicks: int = 0
    clicks_total: int = 0
    conversions: int = 0
    unsubscribes: int = 0
    complaints: int = 0

    def funnel(self) -> Funnel:
        return Funnel(sent=self.sent, bounced=self.bounced, opens=self.opens, clicks=self.clicks,
                      conversions=self.conversions)  # fmt: skip

    def as_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


# kind -> (the Counts field of its event total, the Counts field of its unique leads)
FIELDS = {
    "email_sent": ("sent", None),
    "email_delivered": ("delivered_events", None),
    "email_bounced": (None, "bounced"),
    "email_opened": ("opens_total", "opens"),
    "email_clicked": ("clicks_total", "clicks"),
    "unsubscribed": (None, "unsubscribes"),
    rollup.COMPLAINED: (None, "complaints"),
}


def counts(*, scope: Scope, include_machine: bool = False, window: timedelta) -> Counts:
    """Every count of the scope's emails; conversions follow a click by at most `window`."""
    total = Counts()
    for one in counts_by_campaign(campaign_ids=scope.campaign_ids, include_machine=include_machine,
                                  window=window).values():  # fmt: skip
        for name, value in one.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    return total


def counts_by_campaign(*, campaign_ids, include_machine: bool = False, window: timedelta) -> dict[int, Counts]:
    """Counts for each campaign (every id gets one, empty if nothing happened), in four queries whatever the number."""
    ids = tuple(campaign_ids)
    found = {campaign_id: Counts() for campaign_id in ids}
    processed = Counter.objects.filter(campaign_id__in=ids, all_events=include_machine)
    with snapshot():
        rows = [*processed.values_list("campaign_id", "kind", "total", "unique"), *_unprocessed(ids, include_machine)]
        for campaign_id, kind, total, unique in rows:
            _add(found[campaign_id], kind, total, unique)
        for campaign_id, leads in _conversions(ids, window).items():
            found[campaign_id].conversions = leads
    return found


@contextmanager
def snapshot() -> Iterator[None]:
    """Several queries, one view of the data: an event processed meanwhile is counted once, not twice."""
    if connection.in_atomic_block:  # the caller's transaction decides (tests, or a larger read)
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":  # SQLite's transactions are serializable already
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _add(result: Counts, kind: str, total: int, unique: int) -> None:
    total_field, unique_field = FIELDS.get(kind, (None, None))
    if total_field:
        setattr(result, total_field, getattr(result, total_field) + total)
    if unique_field:
        setattr(result, unique_field, getattr(result, unique_field) + unique)


def _unprocessed(campaign_ids: tuple[int, ...], include_machine: bool) -> list[tuple[int, str, int, int]]:
    """Events not in the rollup yet, by kind: their number, and their leads not yet touched."""
    events = Activity.objects.filter(processed_at__isnull=True, lead__isnull=False, campaign_id__in=campaign_ids)
    events = events.filter(kind__in=rollup.EMAIL_KINDS)
    events = events if include_machine else events.filter(rollup.HUMAN)
    touched = Touch.objects.filter(campaign_id=OuterRef("campaign_id"), lead_id=OuterRef("lead_id"),
                                   all_events=include_machine)  # fmt: skip
    rows = events.annotate(seen=Exists(touched.filter(kind=OuterRef("kind"))),
                           seen_complaint=Exists(touched.filter(kind=rollup.COMPLAINED)))  # fmt: skip
    by_kind = rows.values("campaign_id", "kind").annotate(
        total=Count("id"), unique=Count("lead_id", distinct=True, filter=Q(seen=False)),
        complaints=Count("lead_id", distinct=True, filter=rollup.COMPLAINT & Q(seen_complaint=False)),
    )  # fmt: skip
    found = []
    for row in by_kind:
        if row["kind"] != rollup.COMPLAINED:
            found.append((row["campaign_id"], row["kind"], row["total"], row["unique"]))
        found.append((row["campaign_id"], rollup.COMPLAINED, 0, row["complaints"]))
    return found


def _conversions(campaign_ids: tuple[int, ...], window: timedelta) -> dict[int, int]:
    """Per campaign, the leads who submitted a form or downloaded within `window` after clicking its email."""
    within = Conversion.objects.filter(campaign_id__in=campaign_ids, occurred_at__lte=F("click_at") + window)
    grouped = within.values("campaign_id").annotate(leads=Count("lead_id", distinct=True))
    return {row["campaign_id"]: row["leads"] for row in grouped}
