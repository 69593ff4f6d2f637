"""What the report pages, CSV files and charts call each number, in the active language."""

from django.utils.translation import gettext_lazy as _

METRICS = {
    "delivery": _("Delivery rate (到達率)"),
    "open": _("Open rate (開封率)"),
    "click": _("Click rate (反応率)"),
    "cvr": _("CVR"),
}
FORMULAS = {
    "delivery": _("(sent − bounces) / sent"),
    "open": _("unique opens / %(denominator)s"),
    "click": _("unique clicks / %(denominator)s"),
    "cvr": _("conversions / %(denominator)s"),
}
DENOMINATORS = {"sent": _("sent"), "delivered": _("delivered"), "opens": _("unique opens"),
                "clicks": _("unique clicks")}  # fmt: skip
COMPARISONS = {"above": _("above"), "within": _("within"), "below": _("below")}
COUNTS = {
    "sent": _("Sent"),
    "delivered_events": _("Delivery receipts"),
    "bounced": _("Bounced"),
    "opens": _("Unique opens"),
    "opens_total": _("Total opens"),
    "clicks": _("Unique clicks"),
    "clicks_total": _("Total clicks"),
    "conversions": _("Conversions"),
    "unsubscribes": _("Unsubscribes"),
    "complaints": _("Complaints"),
}
ROLES = {"first": _("First touch"), "last": _("Last touch"), "influence": _("Influenced")}
LIFECYCLE = {
    "subscriber": _("Potential customers (潜在顧客)"),
    "lead": _("Prospects (見込み客)"),
    "promising": _("Promising customers (有望顧客)"),
    "customer": _("Customers (既存顧客)"),
}
NO_SOURCE = _("(no source)")


def formula(metric: str, denominator: str) -> str:
    return str(FORMULAS[metric]) % {"denominator": DENOMINATORS[denominator]}


def reference(bounds) -> str:
    if bounds is None:
        return "—"
    low, high = bounds
    return f"≥ {low}%" if high is None else f"{low}–{high}%"
