"""The forms API under /api/v1/forms/: read forms and their submissions, export and import definitions.

Marketers and superusers only (the landing app's model permissions); sales
users get 403. An imported definition goes through landing.definitions, the
same checks as the builder, and comes back as 400 with every problem.
"""

from django.db.models import Count, QuerySet
from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from landing.definitions import DefinitionError, export_form, import_form
from landing.models import Form, Submission
from leads.api import BoundedJSONParser


class FormSerializer(serializers.ModelSerializer):
    submission_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Form
        fields = [
            "id", "name", "slug", "fields", "submit_label", "success_action", "success_message", "redirect_url",
            "asset_link_hours", "auto_reply", "notify_emails", "double_opt_in", "allowed_origins",
            "min_fill_seconds", "published", "created_at", "updated_at", "submission_count",
        ]  # fmt: skip
        read_only_fields = fields


class SubmissionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Submission
        fields = [
            "id", "lead", "activity", "data", "visitor_id", "utm", "referrer", "page_url", "embedded",
            "consent_wording", "confirmed_at", "followups_sent_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


Problems = inline_serializer("FormProblems", {"problems": serializers.ListField(child=serializers.CharField())})


class FormPermissions(permissions.DjangoModelPermissions):
    """Model permissions, with `view` needed to read (DRF's default lets any signed-in user read)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class FormViewSet(viewsets.ReadOnlyModelViewSet):
    """Forms built in the admin, read-only here; definitions move between installations as JSON."""

    serializer_class = FormSerializer
    permission_classes = [permissions.IsAuthenticated, FormPermissions]
    queryset = Form.objects.none()  # for the permission class; get_queryset is what is served

    def get_queryset(self) -> QuerySet[Form]:
        return Form.objects.annotate(submission_count=Count("submissions")).order_by("pk")

    @extend_schema(responses=SubmissionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def submissions(self, request: Request, pk: str | None = None) -> Response:
        """The form's submissions, newest first, paginated."""
        rows = Submission.objects.filter(form=self.get_object()).order_by("-created_at", "-pk")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SubmissionSerializer(page, many=True).data)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str | None = None) -> Response:
        """The form's definition as JSON, for POST /api/v1/forms/import/ on this or another installation."""
        return Response(export_form(self.get_object()))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: FormSerializer, 400: OpenApiResponse(Problems, description="Why the definition is refused")},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[BoundedJSONParser])
    def import_definition(self, request: Request) -> Response:
        """Create an unpublished form from an exported definition (checked like the builder's)."""
        try:
            form = import_form(request.data)
        except DefinitionError as error:
            return Response({"problems": error.problems}, status=status.HTTP_400_BAD_REQUEST)
        form = self.get_queryset().get(pk=form.pk)
        return Response(FormSerializer(form).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("forms", FormViewSet, basename="form")
urlpatterns = [path("", include(router.urls))]
