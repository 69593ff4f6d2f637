"""One campaign's (or template's) report: counts, the seed's rates beside its reference ranges, pipeline.

Shared by the admin pages, their CSV files and the API, so the three always show the same numbers.
"""

from dataclasses import dataclass
from decimal import Decimal

from reports import funnel, metrics, pipeline
from reports.funnel import Counts, Scope


@dataclass(frozen=True)
class Rate:
    metric: str
    value: Decimal | None
    denominator: str
    reference: tuple[Decimal, Decimal | None] | None
    comparison: str | None  # above / within / below, None without a reference

    @property
    def shown(self) -> str:
        return metrics.format_rate(self.value)


@dataclass(frozen=True)
class Report:
    counts: Counts
    rates: list[Rate]
    pipeline: pipeline.Pipeline


def rates_for(counts: Counts, *, content_type: str, denominators: dict[str, str]) -> list[Rate]:
    rows = []
    for metric in metrics.METRICS:
        denominator = denominators.get(metric) or metrics.DENOMINATORS[metric][0]
        value = metrics.rate(counts.funnel(), metric=metric, denominator=denominator)
        reference = metrics.reference_range(content_type, metric)
        rows.append(Rate(metric, value, denominator, reference, metrics.compare(value, reference)))
    return rows


def build(*, scope: Scope, content_type: str, options: dict) -> Report:
    """`options` as ReportOptions.options() gives them."""
    counts = funnel.counts(scope=scope, include_machine=options["include_machine"], window=options["window"])
    rates = rates_for(counts, content_type=content_type, denominators=options["denominators"])
    reached = counts.funnel().delivered
    return Report(counts, rates, pipeline.pipeline(scope=scope, reached=reached, window=options["opportunity_window"]))


def as_json(report: Report) -> dict:
    """Rates as strings ("98.0") or null: JSON numbers would turn 98.0 into 98 in some clients."""
    return {
        "counts": report.counts.as_dict(),
        "delivered": report.counts.funnel().delivered,
        "rates": {
            rate.metric: {
                "value": None if rate.value is None else str(rate.value),
                "denominator": rate.denominator,
                "reference": None if rate.reference is None else [str(b) if b is not None else None
                                                                  for b in rate.reference],
                "comparison": rate.comparison,
            }
            for rate in report.rates
        },
        "opportunities": _pipeline_json(report.pipeline),
    }  # fmt: skip


def _pipeline_json(found: pipeline.Pipeline) -> dict:
    return {
        "reached": found.reached,
        "became_opportunities": found.became_opportunities,
        "rate": None if found.rate is None else str(found.rate),
        "attributed": {
            row.role: {"opportunities": row.opportunities, "deals": row.deals, "won": row.won,
                       "revenue": str(row.revenue)}
            for row in found.by_role
        },
    }  # fmt: skip
