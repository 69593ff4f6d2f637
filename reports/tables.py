"""The report tables as rows: the same rows feed the HTML tables, the charts and the CSV files."""

from datetime import date

from django.http import HttpResponse
from django.utils.translation import gettext as _

from reports import labels, metrics
from reports.campaign_report import Report
from reports.exporting import csv_response
from reports.funnel import Counts
from reports.kpis import Stage
from reports.models import KpiTarget
from reports.readiness import Condition


def _n(value) -> str:
    return f"{value:,}"


def funnel_rows(counts: Counts) -> list[tuple[str, int, str]]:
    """The seed's funnel, top to bottom, for the chart."""
    delivered = counts.funnel().delivered
    steps = [(labels.COUNTS["sent"], counts.sent), (_("Delivered (sent − bounces)"), delivered),
             (labels.COUNTS["opens"], counts.opens), (labels.COUNTS["clicks"], counts.clicks),
             (labels.COUNTS["conversions"], counts.conversions)]  # fmt: skip
    return [(str(label), value, _n(value)) for label, value in steps]


def rate_rows(report: Report) -> list[dict]:
    return [
        {"metric": rate.metric, "label": labels.METRICS[rate.metric], "shown": rate.shown,
         "formula": labels.formula(rate.metric, rate.denominator), "reference": labels.reference(rate.reference),
         "comparison": rate.comparison, "comparison_label": labels.COMPARISONS.get(rate.comparison, "—")}
        for rate in report.rates
    ]  # fmt: skip


def report_csv(report: Report, *, name: str) -> HttpResponse:
    rows = [[_("Counts"), str(labels.COUNTS[key]), value, ""] for key, value in report.counts.as_dict().items()]
    rows += [[_("Rates"), row["label"], row["shown"], f'{row["formula"]}; {row["reference"]} {row["comparison_label"]}']
             for row in rate_rows(report)]  # fmt: skip
    found = report.pipeline
    rows.append([_("Opportunities"), _("Opportunity rate (商談化率)"), metrics.format_rate(found.rate),
                 f"{found.became_opportunities} / {found.reached}"])  # fmt: skip
    for row in found.by_role:
        rows.append([_("Opportunities"), str(labels.ROLES[row.role]), row.revenue,
                     _("%(o)s opportunities, %(d)s deals, %(w)s won") % {"o": row.opportunities, "d": row.deals,
                                                                          "w": row.won}])  # fmt: skip
    return csv_response(name=name, header=[_("Table"), _("Item"), _("Value"), _("Detail")], rows=rows)


def campaigns_csv(rows: list) -> HttpResponse:
    header = [_("Campaign"), _("Content type"), _("Started"), *[str(label) for label in labels.COUNTS.values()]]
    header += [str(labels.METRICS[metric]) for metric in metrics.METRICS]
    body = [[campaign.name, campaign.get_content_type_display(), campaign.started_at or "",
             *counts.as_dict().values(), *[rate.shown for rate in rates]]
            for campaign, counts, rates in rows]  # fmt: skip
    return csv_response(name="campaign-reports", header=header, rows=body)


def readiness_csv(conditions: list[Condition]) -> HttpResponse:
    rows = [[c.title, _("pass") if c.passed else _("fail"), c.measured, c.target, c.advice] for c in conditions]
    header = [_("Condition"), _("Result"), _("Measured"), _("Target"), _("Next step")]
    return csv_response(name="ma-readiness", header=header, rows=rows)


def plan_rows(plan: metrics.Plan) -> list[tuple[str, int, str]]:
    steps = [(_("Sent"), plan.sent), (_("Delivered"), plan.delivered), (_("Opens"), plan.opens),
             (_("Clicks"), plan.clicks), (_("Conversions"), plan.conversions)]  # fmt: skip
    return [(label, value, _n(value)) for label, value in steps]


def plan_csv(plan: metrics.Plan, mailable: int) -> HttpResponse:
    rows = [[label, value] for label, value, _shown in plan_rows(plan)] + [[_("Mailable leads now"), mailable]]
    return csv_response(name="lead-plan", header=[_("Step"), _("Leads")], rows=rows)


def kpi_rows(months: list[date], values: dict, targets: dict[str, int]) -> list[dict]:
    names = dict(KpiTarget.Metric.choices)
    return [{"label": names[key], "values": [values[key].get(month, 0) for month in months],
             "target": targets.get(key)} for key in values]  # fmt: skip


def source_rows(months: list[date], sources: dict) -> list[dict]:
    return [{"label": source or labels.NO_SOURCE, "values": [by_month.get(month, 0) for month in months],
             "total": sum(by_month.values())} for source, by_month in sources.items()]  # fmt: skip


def stage_rows(stages: list[Stage]) -> list[dict]:
    rows = [{"label": labels.LIFECYCLE[s.key], "now": s.now, "reached": s.reached,
             "conversion": metrics.format_rate(s.conversion)} for s in stages]  # fmt: skip
    if rows:
        rows[0]["conversion"] = ""  # the first stage has none before it
    return rows


def lead_points(months: list[date], sources: dict) -> list[tuple[str, int, str]]:
    totals = [sum(by_month.get(month, 0) for by_month in sources.values()) for month in months]
    return [(month.strftime("%Y-%m"), total, _n(total)) for month, total in zip(months, totals, strict=True)]


def stage_points(stages: list[Stage]) -> list[tuple[str, int, str]]:
    return [(str(labels.LIFECYCLE[s.key]), s.reached, _n(s.reached)) for s in stages]


def kpis_csv(table: str, *, months, values, sources, stages, targets) -> HttpResponse:
    heads = [month.strftime("%Y-%m") for month in months]
    if table == "sources":
        rows = [[r["label"], *r["values"], r["total"]] for r in source_rows(months, sources)]
        return csv_response(name="new-leads-by-source", header=[_("Source"), *heads, _("Total")], rows=rows)
    if table == "lifecycle":
        rows = [[r["label"], r["now"], r["reached"], r["conversion"]] for r in stage_rows(stages)]
        header = [_("Stage"), _("Leads now"), _("At this stage or later"), _("Conversion from the stage before")]
        return csv_response(name="lifecycle-funnel", header=header, rows=rows)
    rows = [[r["label"], *r["values"], r["target"] or ""] for r in kpi_rows(months, values, targets)]
    return csv_response(name="kpis", header=[_("KPI"), *heads, _("Monthly target")], rows=rows)
