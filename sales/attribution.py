"""Which campaigns and forms led to an opportunity, read from the activity stream at conversion.

First touch: the lead's first activity with a campaign or a form (its first
visit's UTM stays on Lead.first_touch). Last touch: the latest one before the
conversion. Influence: every email opened or clicked (by campaign) and every form
submitted within the window before the conversion (ATTRIBUTION_WINDOW_DAYS).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from leads.models import Activity
from sales.models import AttributionTouch, Opportunity

EMAIL_KINDS = (Activity.Kind.EMAIL_OPENED, Activity.Kind.EMAIL_CLICKED)
TOUCH_KINDS = (*EMAIL_KINDS, Activity.Kind.FORM_SUBMIT)
INFLUENCE_MAX = 200  # a lead with more touches than this is a test account or a bot
# Touches by campaign or form: emails with a campaign, forms with a form.
TOUCHING = Q(kind__in=EMAIL_KINDS, campaign_id__isnull=False) | Q(kind=Activity.Kind.FORM_SUBMIT, form_id__isnull=False)


def window_start(converted_at: datetime) -> datetime:
    return converted_at - timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS)


def attribute(*, opportunity: Opportunity, converted_at: datetime) -> list[AttributionTouch]:
    """Store the opportunity's touches (three queries, whatever the lead's history); returns them."""
    touches = opportunity.lead.activities.filter(TOUCHING, occurred_at__lte=converted_at)
    fields = ("pk", "kind", "campaign_id", "form_id", "occurred_at")
    first = touches.order_by("occurred_at", "pk").values(*fields).first()
    last = touches.order_by("-occurred_at", "-pk").values(*fields).first()
    recent = touches.filter(occurred_at__gte=window_start(converted_at)).order_by("occurred_at", "pk")
    rows = [_touch(opportunity, AttributionTouch.Role.FIRST, first)] if first else []
    rows += [_touch(opportunity, AttributionTouch.Role.LAST, last)] if last else []
    rows += [
        _touch(opportunity, AttributionTouch.Role.INFLUENCE, row) for row in recent.values(*fields)[:INFLUENCE_MAX]
    ]
    return AttributionTouch.objects.bulk_create(rows)


def _touch(opportunity: Opportunity, role: str, row: dict) -> AttributionTouch:
    return AttributionTouch(
        opportunity=opportunity,
        role=role,
        activity_id=row["pk"],
        kind=row["kind"],
        campaign_id=row["campaign_id"],
        form_id=row["form_id"],
        occurred_at=row["occurred_at"],
    )
