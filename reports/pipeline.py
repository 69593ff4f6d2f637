"""What the emails led to in sales: the opportunity rate (商談化率), deals and revenue by attribution.

Reads the sales app's Opportunity and its AttributionTouch rows (first touch, last touch before
conversion, influenced within the window), which sales/attribution.py stores at conversion.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum

from leads.models import Activity
from reports.funnel import Scope
from reports.metrics import percent
from sales.models import AttributionTouch, Opportunity, OpportunityStageChange

ROLES = tuple(AttributionTouch.Role.values)  # first, last, influence
DEAL_STAGES = (Opportunity.Stage.DEAL, Opportunity.Stage.WON)


@dataclass(frozen=True)
class Attributed:
    role: str
    opportunities: int
    deals: int
    won: int
    revenue: Decimal


@dataclass(frozen=True)
class Pipeline:
    reached: int  # delivered: sent − bounced
    became_opportunities: int
    rate: Decimal | None
    by_role: list[Attributed]


def pipeline(*, scope: Scope, reached: int, window: timedelta) -> Pipeline:
    """Leads reached by the scope's emails who became opportunities within `window` after the send."""
    became = became_opportunities(scope=scope, window=window)
    return Pipeline(reached=reached, became_opportunities=became, rate=percent(became, reached),
                    by_role=attributed(scope=scope))  # fmt: skip


def became_opportunities(*, scope: Scope, window: timedelta) -> int:
    sent_before = Activity.objects.filter(
        campaign_id__in=scope.campaign_ids, kind=Activity.Kind.EMAIL_SENT, lead_id=OuterRef("lead_id"),
        occurred_at__lte=OuterRef("created_at"), occurred_at__gte=OuterRef("created_at") - window,
    )  # fmt: skip
    return Opportunity.objects.filter(Exists(sent_before)).values("lead_id").distinct().count()


def moved_to_deal() -> Exists:
    """Ever moved to deal or won (a lost deal was still a deal)."""
    return Exists(OpportunityStageChange.objects.filter(opportunity=OuterRef("pk"), to_stage__in=DEAL_STAGES))


def attributed(*, scope: Scope) -> list[Attributed]:
    """Opportunities, deals, wins and won revenue per attribution role, each opportunity once per role."""
    touches = {role: Exists(AttributionTouch.objects.filter(opportunity=OuterRef("pk"), role=role,
                                                            campaign_id__in=scope.campaign_ids))
               for role in ROLES}  # fmt: skip
    rows = Opportunity.objects.annotate(dealt=moved_to_deal(), **{f"t_{role}": t for role, t in touches.items()})
    rows = rows.filter(Q(*[Q(**{f"t_{role}": True}) for role in ROLES], _connector=Q.OR))
    sums = {}
    for role in ROLES:
        mine = Q(**{f"t_{role}": True})
        sums[f"{role}_o"] = Count("pk", filter=mine)
        sums[f"{role}_d"] = Count("pk", filter=mine & (Q(stage__in=DEAL_STAGES) | Q(dealt=True)))
        sums[f"{role}_w"] = Count("pk", filter=mine & Q(stage=Opportunity.Stage.WON))
        sums[f"{role}_r"] = Sum("amount", filter=mine & Q(stage=Opportunity.Stage.WON))
    found = rows.aggregate(**sums)
    return [Attributed(role=role, opportunities=found[f"{role}_o"], deals=found[f"{role}_d"], won=found[f"{role}_w"],
                       revenue=found[f"{role}_r"] or Decimal(0)) for role in ROLES]  # fmt: skip
