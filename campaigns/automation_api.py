"""/api/v1/sequences/: read sequences with their steps, enroll and unenroll leads by id or email.

Leads are named as for list members (leads/segment_api.py): `{"ids": [...], "emails": [...]}`,
at most 10,000 per request; unknown ones come back in `missing`, unmailable
ones are recorded as skipped (not an error).
"""

from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.automation_models import Enrollment, Sequence, Step
from campaigns.sequences import SequenceError, enroll, unenroll
from leads.api import ERRORS, ModelPermissions
from leads.lists import resolve_leads
from leads.segment_api import MembersParser, MembersPermissions, MembersSerializer


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = ["id", "order", "template", "delay", "unit", "weekdays", "window_start", "window_end",
                  "condition", "otherwise"]  # fmt: skip


class SequenceSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)
    active_count = serializers.IntegerField(read_only=True, help_text="Leads enrolled now")

    class Meta:
        model = Sequence
        fields = ["id", "name", "status", "entry", "entry_form_id", "entry_url", "entry_list", "entry_segment",
                  "entry_score", "entry_stage", "reentry", "goal_form_id", "exit_segment", "active_count", "steps",
                  "created_at"]  # fmt: skip


ENROLLED = inline_serializer("Enrolled", {
    "enrolled": serializers.IntegerField(), "skipped": serializers.IntegerField(help_text="Not mailable: recorded"),
    "already": serializers.IntegerField(), "missing": serializers.ListField()})  # fmt: skip
UNENROLLED = inline_serializer(
    "Unenrolled", {"removed": serializers.IntegerField(), "missing": serializers.ListField()}
)


class SequenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Step sequences (ステップメール); they are built in the admin."""

    queryset = (
        Sequence.objects.annotate(
            active_count=Count("enrollments", filter=Q(enrollments__status=Enrollment.Status.ACTIVE))
        )
        .prefetch_related(Prefetch("steps", Step.objects.order_by("order", "pk")))
        .order_by("pk")
    )
    serializer_class = SequenceSerializer
    permission_classes = [ModelPermissions]
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list:
        return [MembersPermissions()] if self.action in ("enroll", "unenroll") else super().get_permissions()

    @extend_schema(summary="Enroll leads", request=MembersSerializer, responses={200: ENROLLED, **ERRORS})
    @action(detail=True, methods=["post"], parser_classes=[MembersParser])
    def enroll(self, request: Request, pk: str) -> Response:
        sequence, found = self.get_object(), self._leads(request)
        try:
            result = enroll(sequence=sequence, lead_ids=found.leads.values_list("pk", flat=True), source="api")
        except SequenceError as error:
            raise serializers.ValidationError({"detail": [str(error)]}) from None
        return Response({"enrolled": result.enrolled, "skipped": result.skipped, "already": result.already,
                         "missing": found.missing})  # fmt: skip

    @extend_schema(summary="End leads' enrollment", request=MembersSerializer, responses={200: UNENROLLED, **ERRORS})
    @action(detail=True, methods=["post"], parser_classes=[MembersParser])
    def unenroll(self, request: Request, pk: str) -> Response:
        sequence, found = self.get_object(), self._leads(request)
        removed = unenroll(sequence=sequence, lead_ids=found.leads.values_list("pk", flat=True))
        return Response({"removed": removed, "missing": found.missing})

    def _leads(self, request: Request):
        incoming = MembersSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return resolve_leads(ids=incoming.validated_data["ids"], emails=incoming.validated_data["emails"])
