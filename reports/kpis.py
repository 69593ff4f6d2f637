"""The KPI dashboard: the seed's typical KPIs per month, new leads by source, and the lifecycle funnel.

One grouped query per KPI over the months asked for (never one per month). Months are calendar
months in TIME_ZONE. "Via email" means a conversion within the report window after a person's
click on a campaign's email (reports/rollup.py keeps those pairs).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
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


def _by_month(rows: QuerySet, field: str, value) -> dict[date, int | Decimal]:
    grouped = rows.annotate(month=TruncMonth(field)).values("month").annotate(value=value)
    return {_as_date(row["month"]): row["value"] or 0 for row in grouped}


def _as_date(month) -> date:
    return timezone.localtime(month).date() if isinstance(month, datetime) else month


def monthly(*, months: list[date], window: timedelta) -> dict[str, dict[date, int | Decimal]]:
    """KPI -> month -> value, for the seed's typical KPIs."""
    start, end = _bounds(months)
    converted = Conversion.objects.filter(occurred_at__gte=start, occurred_at__lt=end,
                                          occurred_at__lte=F("click_at") + window)  # fmt: skip
    seminars = Campaign.objects.filter(content_type=Campaign.ContentType.SEMINAR).values("pk")
    deal_moves = OpportunityStageChange.objects.filter(to_stage=Opportunity.Stage.DEAL, at__gte=start, at__lt=end)
    from_ma = Exists(AttributionTouch.objects.filter(opportunity=OuterRef("pk")))
    won = Opportunity.objects.filter(from_ma, stage=Opportunity.Stage.WON, closed_at__gte=start, closed_at__lt=end)
    distinct = Count("activity_id", distinct=True)
    return {
        "seminar_signups": _by_month(
            converted.filter(kind="form_submit", campaign_id__in=seminars), "occurred_at", distinct
        ),  # fmt: skip
        "downloads": _by_month(converted.filter(kind="download"), "occurred_at", distinct),
        "mqls": _by_month(Lead.objects.filter(mql_at__gte=start, mql_at__lt=end), "mql_at", Count("pk")),
        "opportunities": _by_month(
            Opportunity.objects.filter(created_at__gte=start, created_at__lt=end), "created_at", Count("pk")
        ),  # fmt: skip
        "deals": _by_month(deal_moves, "at", Count("opportunity", distinct=True)),
        "revenue": _by_month(won, "closed_at", Sum("amount")),
    }


def new_leads_by_source(*, months: list[date]) -> dict[str, dict[date, int]]:
    """source ("" when unknown) -> month -> leads created."""
    start, end = _bounds(months)
    rows = Lead.objects.filter(created_at__gte=start, created_at__lt=end).annotate(month=TruncMonth("created_at"))
    found: dict[str, dict[date, int]] = {}
    for row in rows.values("source", "month").annotate(n=Count("pk")).order_by("source"):
        found.setdefault(row["source"], {})[_as_date(row["month"])] = row["n"]
    return found


def lifecycle(*, created_from: datetime | None = None, created_until: datetime | None = None) -> list[Stage]:
    """The seed's funnel (潜在 → 見込み → 有望 → 既存) over the leads created in the period, by current stage."""
    leads = Lead.objects.all()
    if created_from:
        leads = leads.filter(created_at__gte=created_from)
    if created_until:
        leads = leads.filter(created_at__lt=created_until)
    sums = leads.aggregate(**{key: Count("pk", filter=Q(stage__in=stages)) for key, stages in LIFECYCLE})
    stages, reached, previous = [], sum(sums.values()), None
    for key, _stages in LIFECYCLE:
        stages.append(Stage(key=key, now=sums[key], reached=reached,
                            conversion=None if previous is None else percent(reached, previous)))  # fmt: skip
        previous, reached = reached, reached - sums[key]
    return stages


def targets() -> dict[str, int]:
    return dict(KpiTarget.objects.values_list("metric", "monthly_target"))
