"""The reports API under /api/v1/reports/: one campaign's counts and rates, and the monthly KPIs.

Query parameters are validated by the same forms as the admin pages (reports/forms.py); an
unknown or malformed parameter is a 400 that names it, never ignored.
"""

from django import forms
from django.http import Http404, QueryDict
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Campaign
from leads.api import BIGINT_MAX, _storable
from reports import campaign_report, funnel, kpis
from reports.forms import MonthRange, ReportOptions
from reports.funnel import Scope


class CanViewReports(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("reports.view_reports"))


def validated(form_class: type[forms.Form], params: QueryDict) -> forms.Form:
    if not _storable(dict(params.lists())):
        raise exceptions.ParseError(_("a query parameter holds \\u0000 or a lone surrogate"))
    if unknown := sorted(set(params) - set(form_class.base_fields)):
        raise serializers.ValidationError({name: [_("is not a parameter of this report")] for name in unknown})
    form = form_class(params)
    if not form.is_valid():
        raise serializers.ValidationError({name: list(errors) for name, errors in form.errors.items()})
    return form


def _parameters(form_class: type[forms.Form]) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, str, description=str(field.label or "")) for name, field in
            form_class.base_fields.items()]  # fmt: skip


class CampaignReportView(APIView):
    permission_classes = [CanViewReports]

    @extend_schema(
        summary="One campaign's email funnel, the seed's rates and its opportunities",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH), *_parameters(ReportOptions)],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="{parameter: [reasons]}")},
        description="Denominators: open = delivered (default) | sent; click = opens (default) | sent | delivered; "
        "cvr = opens (default) | sent | delivered | clicks. machine=true includes machine opens and scanner "
        "clicks. Rates are strings with one decimal, or null when the denominator is zero.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = Campaign.objects.filter(pk=pk).first() if pk <= BIGINT_MAX else None
        if campaign is None:
            raise Http404
        form = validated(ReportOptions, request.query_params)
        report = campaign_report.build(scope=Scope.campaign(campaign.pk), content_type=campaign.content_type,
                                       options=form.options())  # fmt: skip
        return Response(
            {
                "campaign": {"id": campaign.pk, "name": campaign.name, "content_type": campaign.content_type},
                **campaign_report.as_json(report),
            }
        )


class KpiView(APIView):
    permission_classes = [CanViewReports]

    @extend_schema(
        summary="The seed's KPIs per month, new leads by source and the lifecycle funnel",
        parameters=_parameters(MonthRange),
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="{parameter: [reasons]}")},
        description=f"start and end are months (YYYY-MM), at most {kpis.MAX_MONTHS} of them; default: the last six.",
    )
    def get(self, request: Request) -> Response:
        form = validated(MonthRange, request.query_params)
        months = form.months()
        with funnel.snapshot():
            values = kpis.monthly(months=months, window=form.window())
            sources = kpis.new_leads_by_source(months=months)
            stages = kpis.lifecycle()
            targets = kpis.targets()
        return Response(kpis_json(months=months, values=values, sources=sources, stages=stages, targets=targets))


def kpis_json(*, months, values, sources, stages, targets) -> dict:
    """Revenue as a string (a decimal amount); counts as integers."""

    def series(name: str, by_month: dict) -> list:
        return [str(by_month.get(m, 0)) if name == "revenue" else by_month.get(m, 0) for m in months]

    return {
        "months": [month.strftime("%Y-%m") for month in months],
        "kpis": {name: {"values": series(name, by_month), "target": targets.get(name)}
                 for name, by_month in values.items()},
        "new_leads_by_source": {source: series("", by_month) for source, by_month in sources.items()},
        "lifecycle": [{"stage": s.key, "leads": s.now, "reached": s.reached,
                       "conversion": None if s.conversion is None else str(s.conversion)} for s in stages],
    }  # fmt: skip


urlpatterns = [
    path("campaigns/<int:pk>/", CampaignReportView.as_view(), name="report-campaign"),
    path("kpis/", KpiView.as_view(), name="report-kpis"),
]
