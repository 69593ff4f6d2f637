"""The KPI dashboard: the seed's typical KPIs per month, new leads by source, and the lifecycle funnel.

One grouped query per KPI over the months asked for (never one per month). Months are calendar
months in TIME_ZONE. "Via email" means a conversion within the report window after a person's
click on a campaign's email (reports/rollup.py keeps those pairs).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Aggregate, Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from campaigns.models import Campaign
from leads.models import Lead
from reports.metrics import percent
from reports.models import Conversion, KpiTarget
from sales.models import AttributionTouch, Opportunity, OpportunityStageChange

MAX_MONTHS = 36
KPIS = tuple(KpiTarget.Metric.values)
# The seed's four lifecycle stages over the product's six (issue 3): MQL, SQL and opportunity are
# all 有望顧客 (promising), told apart by who works them.
LIFECYCLE = (
    ("subscriber", (Lead.Stage.SUBSCRIBER,)),
    ("lead", (Lead.Stage.LEAD,)),
    ("promising", (Lead.Stage.MQL, Lead.Stage.SQL, Lead.Stage.OPPORTUNITY)),
    ("customer", (Lead.Stage.CUSTOMER,)),
)


@dataclass(frozen=True)
class Stage:
    key: str
    now: int  # leads at this stage now
    reached: int  # leads at this stage or a later one
    conversion: Decimal | None  # reached this stage / reached the one before


def month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from first's to last's, inclusive."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def _bounds(months: list[date]) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    end = (months[-1] + timedelta(days=32)).replace(day=1)
    return datetime.combine(months[0], datetime.min.time(), tz), datetime.combine(end, datetime.min.time(), tz)


def _month_filters(months: list[date], field: str) -> dict[str, Q]:
    """One range per month on the raw timestamp: cheaper per row than truncating it in the time zone."""
    edges = [*(_bounds([month])[0] for month in months), _bounds(months)[1]]
    return {f"m{i}": Q(**{f"{field}__gte": edges[i], f"{field}__lt": edges[i + 1]}) for i in range(len(months))}


def _by_month(rows: QuerySet, field: str, value: Callable[[str, Q], Aggregate], months: list[date]) -> dict[date, Any]:
    """month -> value (months without any left out), in one aggregate query whatever the number of months."""
    sums = rows.aggregate(**{key: value(field, where) for key, where in _month_filters(months, field).items()})
    return {month: sums[f"m{i}"] for i, month in enumerate(months) if sums[f"m{i}"]}


def _rows(field: str, where: Q) -> Aggregate:
    return Count(field, filter=where)  # the month's field is never null: COUNT(*) that may take a filter


def _conversions(_field: str, where: Q) -> Aggregate:
    return Count("activity_id", distinct=True, filter=where)


def _opportunities(_field: str, where: Q) -> Aggregate:
    return Count("opportunity", distinct=True, filter=where)


def monthly(*, months: list[date], window: timedelta) -> dict[str, dict[date, int | Decimal]]:
    """KPI -> month -> value, for the seed's typical KPIs."""
    start, end = _bounds(months)
    converted = Conversion.objects.filter(occurred_at__gte=start, occurred_at__lt=end,
                                          occurred_at__lte=F("click_at") + window)  # fmt: skip
    seminars = Campaign.objects.filter(content_type=Campaign.ContentType.SEMINAR).values("pk")
    deal_moves = OpportunityStageChange.objects.filter(to_stage=Opportunity.Stage.DEAL, at__gte=start, at__lt=end)
    from_ma = Exists(AttributionTouch.objects.filter(opportunity=OuterRef("pk")))
    won = Opportunity.objects.filter(from_ma, stage=Opportunity.Stage.WON, closed_at__gte=start, closed_at__lt=end)
    return {
        "seminar_signups": _by_month(
            converted.filter(kind="form_submit", campaign_id__in=seminars), "occurred_at", _conversions, months
        ),  # fmt: skip
        "downloads": _by_month(converted.filter(kind="download"), "occurred_at", _conversions, months),
        "mqls": _by_month(Lead.objects.filter(mql_at__gte=start, mql_at__lt=end), "mql_at", _rows, months),
        "opportunities": _by_month(
            Opportunity.objects.filter(created_at__gte=start, created_at__lt=end), "created_at", _rows, months
        ),  # fmt: skip
        "deals": _by_month(deal_moves, "at", _opportunities, months),
        "revenue": _by_month(won, "closed_at", lambda _, where: Sum("amount", filter=where), months),
    }


def new_leads_by_source(*, months: list[date]) -> dict[str, dict[date, int]]:
    """source ("" when unknown) -> month -> leads created."""
    start, end = _bounds(months)
    filters = _month_filters(months, "created_at")
    rows = Lead.objects.filter(created_at__gte=start, created_at__lt=end).values("source").order_by("source")
    found: dict[str, dict[date, int]] = {}
    for row in rows.annotate(**{key: _rows("created_at", where) for key, where in filters.items()}):
        found[row["source"]] = {month: row[f"m{i}"] for i, month in enumerate(months) if row[f"m{i}"]}
    return found


def lifecycle(*, created_from: datetime | None = None, created_until: datetime | None = None) -> list[Stage]:
    """The seed's funnel (潜在 → 見込み → 有望 → 既存) over the leads created in the period, by current stage."""
    leads = Lead.objects.all()
    if created_from:
        leads = leads.filter(created_at__gte=created_from)
    if created_until:
        leads = leads.filter(created_at__lt=created_until)
    # Grouped by stage, so PostgreSQL counts from the (stage, score) index without reading the leads.
    by_stage = dict(leads.order_by().values_list("stage").annotate(n=Count("*")))
    sums = {key: sum(by_stage.get(stage, 0) for stage in stages) for key, stages in LIFECYCLE}
    stages, reached, previous = [], sum(sums.values()), None
    for key, _stages in LIFECYCLE:
        stages.append(Stage(key=key, now=sums[key], reached=reached,
                            conversion=None if previous is None else percent(reached, previous)))  # fmt: skip
        previous, reached = reached, reached - sums[key]
    return stages


def targets() -> dict[str, int]:
    return dict(KpiTarget.objects.values_list("metric", "monthly_target"))
