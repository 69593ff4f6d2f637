"""The report pages under /admin/reports/: readiness (the first page), campaigns, KPIs and the planner.

Thin: each view validates its query parameters with reports/forms.py, asks a domain module for
the numbers and renders them, or returns them as CSV with ?format=csv.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from campaigns.models import Campaign, EmailTemplate
from leads.models import Lead
from reports import campaign_report, charts, funnel, kpis, metrics, readiness, tables
from reports.forms import DateRange, MonthRange, PlannerForm, ReportOptions
from reports.funnel import Scope
from reports.models import KpiTarget

PER_PAGE = 50
READINESS_CACHE_S = 600  # it reads a month of page views; the check changes slowly


def reports_page(view: Callable) -> Callable:
    """Staff with the reports permission (marketers, sales and superusers; see mautomation/roles.py)."""

    @staff_member_required
    @permission_required("reports.view_reports", raise_exception=True)
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return view(request, *args, **kwargs)

    return wrapped


def page(request: HttpRequest, template: str, title: str, *, status: int = 200, **context) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": title, **context}
    return render(request, f"reports/{template}", context, status=status)


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


@reports_page
def readiness_check(request: HttpRequest) -> HttpResponse:
    key = f"reports:readiness:{get_language()}"
    conditions = None if request.GET.get("refresh") else cache.get(key)
    if conditions is None:
        conditions = readiness.check()
        cache.set(key, conditions, READINESS_CACHE_S)
    if wants_csv(request):
        return tables.readiness_csv(conditions)
    seed_plan = metrics.plan(**metrics.SEED_PLAN)
    passed = sum(condition.passed for condition in conditions)
    return page(request, "readiness.html", _("MA readiness check"), conditions=conditions, passed=passed,
                plan=seed_plan, mailable=mailable_leads())  # fmt: skip


def mailable_leads() -> int:
    return Lead.objects.filter(consent=True, email_status=Lead.EmailStatus.OK).count()


@reports_page
def planner(request: HttpRequest) -> HttpResponse:
    form = PlannerForm(request.GET if "conversions" in request.GET else None, initial=metrics.SEED_PLAN)
    data = form.cleaned_data if form.is_bound and form.is_valid() else (None if form.is_bound else metrics.SEED_PLAN)
    plan = metrics.plan(**data) if data else None
    mailable = mailable_leads()
    if wants_csv(request) and plan:
        return tables.plan_csv(plan, mailable)
    chart = charts.horizontal(tables.plan_rows(plan)) if plan else None
    return page(request, "planner.html", _("Lead planner"), form=form, plan=plan, mailable=mailable, chart=chart)


@reports_page
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = DateRange(request.GET)
    if not form.is_valid():
        return page(request, "campaigns.html", _("Campaign reports"), form=form, rows=[], status=400)
    campaigns = filtered_campaigns(form.cleaned_data)
    options = form.options()
    if wants_csv(request):
        return tables.campaigns_csv(report_rows(list(campaigns[:10_000]), options))
    current = Paginator(campaigns, PER_PAGE).get_page(request.GET.get("page"))
    rows = report_rows(list(current), options)
    return page(request, "campaigns.html", _("Campaign reports"), form=form, rows=rows, page_obj=current)


def filtered_campaigns(data: dict) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("-started_at", "-pk")
    if data.get("since"):
        campaigns = campaigns.filter(started_at__date__gte=data["since"])
    if data.get("until"):
        campaigns = campaigns.filter(started_at__date__lte=data["until"])
    return campaigns


def report_rows(campaigns: list[Campaign], options: dict) -> list[tuple[Campaign, funnel.Counts, list]]:
    """Each campaign with its counts and rates, in four queries whatever the number of campaigns."""
    found = funnel.counts_by_campaign(campaign_ids=[c.pk for c in campaigns], include_machine=options[
        "include_machine"], window=options["window"])  # fmt: skip
    return [
        (c, found[c.pk], campaign_report.rates_for(found[c.pk], content_type=c.content_type,
                                                   denominators=options["denominators"]))
        for c in campaigns
    ]  # fmt: skip


@reports_page
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    return scope_report(request, Scope.campaign(campaign.pk), campaign.content_type, campaign.name, campaign)


@reports_page
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    campaigns = list(template.campaigns.values_list("pk", "content_type"))
    types = {content_type for _pk, content_type in campaigns}
    content_type = types.pop() if len(types) == 1 else Campaign.ContentType.OTHER
    title = _("Template: %(name)s") % {"name": template.name}
    return scope_report(request, Scope.campaigns(pk for pk, _type in campaigns), content_type, title, None)


def scope_report(request: HttpRequest, scope: Scope, content_type: str, title: str, campaign) -> HttpResponse:
    form = ReportOptions(request.GET)
    if not form.is_valid():
        return page(request, "campaign.html", title, form=form, report=None, campaign=campaign, status=400)
    report = campaign_report.build(scope=scope, content_type=content_type, options=form.options())
    if wants_csv(request):
        return tables.report_csv(report, name=f"campaign-report-{'-'.join(map(str, scope.campaign_ids[:5]))}")
    chart = charts.horizontal(tables.funnel_rows(report.counts))
    return page(request, "campaign.html", title, form=form, report=report, chart=chart, campaign=campaign,
                content_type=content_type, rates=tables.rate_rows(report))  # fmt: skip


@reports_page
def kpi_dashboard(request: HttpRequest) -> HttpResponse:
    form = MonthRange(request.GET)
    if not form.is_valid():
        return page(request, "kpis.html", _("KPI dashboard"), form=form, status=400)
    months = form.months()
    with funnel.snapshot():
        values = kpis.monthly(months=months, window=form.window())
        sources = kpis.new_leads_by_source(months=months)
        stages = kpis.lifecycle()
        targets = kpis.targets()
    if wants_csv(request):
        return tables.kpis_csv(request.GET.get("table", "kpis"), months=months, values=values, sources=sources,
                               stages=stages, targets=targets)  # fmt: skip
    return page(request, "kpis.html", _("KPI dashboard"), form=form, months=months,
                kpi_rows=tables.kpi_rows(months, values, targets), source_rows=tables.source_rows(months, sources),
                stages=tables.stage_rows(stages), chart=charts.columns(tables.lead_points(months, sources)),
                stage_chart=charts.horizontal(tables.stage_points(stages)),
                targets_url=f"admin:{KpiTarget._meta.app_label}_kpitarget_changelist")  # fmt: skip
