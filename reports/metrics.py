"""The seed's email metrics, reference ranges and lead planner, as pure functions.

Definitions (the BtoB guide this product is built from, in SEED-NOTES.md):
  delivery rate 到達率 = (sent − bounces) / sent
  open rate 開封率      = unique opens / delivered          (or / sent)
  click rate 反応率     = unique clicks / unique opens      (or / sent, / delivered)
  CVR                   = conversions / unique opens        (or / sent, / delivered, / clicks)
"delivered" is sent − bounces, as in the seed's worked example (5,102 − 102 = 5,000).
Rates are percentages rounded half-up to one decimal; a zero denominator has no rate
(None, shown as "—"), never an error.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

NO_VALUE = "—"
ONE_DECIMAL = Decimal("0.1")

# metric -> (its default denominator, the alternatives the seed names)
DENOMINATORS: dict[str, tuple[str, ...]] = {
    "delivery": ("sent",),
    "open": ("delivered", "sent"),
    "click": ("opens", "sent", "delivered"),
    "cvr": ("opens", "sent", "delivered", "clicks"),
}
NUMERATORS = {"delivery": "delivered", "open": "opens", "click": "clicks", "cvr": "conversions"}
METRICS = tuple(DENOMINATORS)

# The seed's reference values when mailing a whole list: (low, high); high None means "at least low".
_DELIVERY = (Decimal("98.0"), None)
_OPEN = (Decimal("15.0"), Decimal("20.0"))
REFERENCE_RANGES: dict[str, dict[str, tuple[Decimal, Decimal | None]]] = {
    "whitepaper": {"delivery": _DELIVERY, "open": _OPEN, "click": (Decimal("9.0"), Decimal("11.0")),
                   "cvr": (Decimal("2.5"), Decimal("3.5"))},
    "seminar": {"delivery": _DELIVERY, "open": _OPEN, "click": (Decimal("6.0"), Decimal("8.0")),
                "cvr": (Decimal("2.0"), Decimal("3.0"))},
    "service_intro": {"delivery": _DELIVERY, "open": _OPEN, "click": (Decimal("5.0"), Decimal("7.0")),
                      "cvr": (Decimal("1.0"), Decimal("1.5"))},
}  # fmt: skip
ABOVE, WITHIN, BELOW = "above", "within", "below"


@dataclass(frozen=True)
class Funnel:
    """One email's (or a set of emails') counts; opens, clicks and conversions are unique leads."""

    sent: int = 0
    bounced: int = 0
    opens: int = 0
    clicks: int = 0
    conversions: int = 0

    @property
    def delivered(self) -> int:
        return max(self.sent - self.bounced, 0)


def percent(numerator: int | float | Decimal, denominator: int | float | Decimal) -> Decimal | None:
    """numerator / denominator × 100, rounded half-up to 0.1; None when the denominator is zero."""
    if not denominator:
        return None
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    return exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def rate(funnel: Funnel, *, metric: str, denominator: str | None = None) -> Decimal | None:
    """One metric with the seed's default denominator, or one of the alternatives it names."""
    denominator = denominator or DENOMINATORS[metric][0]
    if denominator not in DENOMINATORS[metric]:
        raise ValueError(f"{metric}: the denominator {denominator!r} is not one of {', '.join(DENOMINATORS[metric])}")
    return percent(getattr(funnel, NUMERATORS[metric]), getattr(funnel, denominator))


def rates(funnel: Funnel, *, denominators: dict[str, str] | None = None) -> dict[str, Decimal | None]:
    """Every metric; `denominators` overrides the default of some of them, e.g. {"cvr": "clicks"}."""
    chosen = denominators or {}
    return {metric: rate(funnel, metric=metric, denominator=chosen.get(metric)) for metric in METRICS}


def reference_range(content_type: str, metric: str) -> tuple[Decimal, Decimal | None] | None:
    """The seed's range for this kind of email; None for content types the seed gives no figures for."""
    return REFERENCE_RANGES.get(content_type, {}).get(metric)


def compare(value: Decimal | None, reference: tuple[Decimal, Decimal | None] | None) -> str | None:
    """above / within / below the reference range (bounds included); None when either is missing."""
    if value is None or reference is None:
        return None
    low, high = reference
    if value < low:
        return BELOW
    return ABOVE if high is not None and value > high else WITHIN


def format_rate(value: Decimal | None) -> str:
    return NO_VALUE if value is None else f"{value}%"


# --- The planner: how many leads one mail needs -------------------------------------------------

# The seed's worked example: 10 CV ← 100 clicks (CVR 10 %, on clicks) ← 1,000 opens (click 10 %)
# ← 5,000 delivered (open 20 %) ← 5,102 sent (delivery 98 %).
SEED_PLAN = {"conversions": 10, "delivery": Decimal("98.0"), "open": Decimal("20.0"), "click": Decimal("10.0"),
             "cvr": Decimal("10.0"), "cvr_basis": "clicks"}  # fmt: skip
PLAN_CVR_BASES = ("clicks", "opens")


@dataclass(frozen=True)
class Plan:
    conversions: int
    clicks: int
    opens: int
    delivered: int
    sent: int

    def enough(self, mailable: int) -> bool:
        return mailable >= self.sent


def _needed(count: int, rate_percent: Decimal) -> int:
    """How many go in so that `count` come out at this rate: rounded to the nearest whole lead, as the
    seed does (5,000 delivered / 98 % = 5,102.04 → 5,102 sent)."""
    return int((Decimal(count) * 100 / rate_percent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def plan(
    *, conversions: int, delivery: Decimal, open: Decimal, click: Decimal, cvr: Decimal, cvr_basis: str = "clicks"
) -> Plan:
    """Work back from target conversions and expected rates (percentages, 0 < rate ≤ 100) to sends."""
    if cvr_basis not in PLAN_CVR_BASES:
        raise ValueError(f"cvr_basis {cvr_basis!r}: use one of {', '.join(PLAN_CVR_BASES)}")
    for name, value in (("delivery", delivery), ("open", open), ("click", click), ("cvr", cvr)):
        if not 0 < value <= 100:
            raise ValueError(f"{name}: a rate is a percentage above 0 and at most 100")
    if cvr_basis == "clicks":
        clicks = _needed(conversions, cvr)
        opens = _needed(clicks, click)
    else:
        opens = _needed(conversions, cvr)
        clicks = int((Decimal(opens) * click / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    delivered = _needed(opens, open)
    return Plan(conversions=conversions, clicks=clicks, opens=opens, delivered=delivered,
                sent=_needed(delivered, delivery))  # fmt: skip
