from django.http import HttpRequest, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from mautomation import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report, healthy = health.report()
    return JsonResponse(report, status=200 if healthy else 503)


def home(request: HttpRequest):
    """Staff to the admin; a signed-in sales user who is not staff to the sales workspace."""
    if request.user.is_authenticated and not request.user.is_staff:
        return redirect("sales:hot_leads")
    # Those who run MA start at the readiness check (reports): it says what to set up next.
    if request.user.has_perm("reports.change_kpitarget"):
        return redirect("reports:readiness")
    return redirect("admin:index")


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    is_superuser = serializers.BooleanField()


@extend_schema(summary="The authenticated user and their roles", responses=MeSerializer)
@api_view(["GET"])
def me(request: Request) -> Response:
    user = request.user
    roles = sorted(user.groups.values_list("name", flat=True))
    return Response({"username": user.get_username(), "roles": roles, "is_superuser": user.is_superuser})
