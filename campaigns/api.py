"""The campaigns API under /api/v1/campaigns/: create, schedule, send, pause, resume and stats."""

from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns import sending
from campaigns.models import Campaign
from leads.api import BoundedJSONParser


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "id", "name", "content_type", "template", "lists", "segments", "suppression_lists", "utm_campaign",
            "status", "scheduled_at", "started_at", "finished_at", "paused_reason", "recipients", "sent_count",
            "failed_count", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "status", "started_at", "finished_at", "paused_reason", "recipients", "sent_count", "failed_count",
            "created_at",
        ]  # fmt: skip

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and not self.instance.editable:
            raise serializers.ValidationError("A campaign cannot be changed once sending has started.")
        return attrs


class ScheduleSerializer(serializers.Serializer):
    at = serializers.DateTimeField()


class ReadForViewersWriteWithPermission(permissions.DjangoModelPermissions):
    """Model permissions, including `view` for reads (DRF's default lets any user read)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class CampaignViewSet(viewsets.ModelViewSet):
    """Broadcasts: a template to lists and segments minus suppression lists, now or at a set time."""

    queryset = Campaign.objects.order_by("-pk").prefetch_related("lists", "segments", "suppression_lists")
    serializer_class = CampaignSerializer
    permission_classes = [permissions.IsAuthenticated, ReadForViewersWriteWithPermission]
    parser_classes = [BoundedJSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"\d+"

    def perform_create(self, serializer: CampaignSerializer) -> None:
        serializer.save(created_by=self.request.user)

    def perform_destroy(self, instance: Campaign) -> None:
        if not instance.editable:
            raise serializers.ValidationError("A campaign that has started sending is kept.")
        instance.delete()

    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str) -> Response:
        data = ScheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(lambda campaign: sending.schedule(campaign=campaign, at=data.validated_data["at"]))

    @action(detail=True, methods=["post"], url_path="send")
    def send_now(self, request: Request, pk: str) -> Response:
        return self._run(lambda campaign: sending.start(campaign=campaign))

    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        return self._run(lambda campaign: sending.pause(campaign=campaign, reason="API"))

    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._run(lambda campaign: sending.resume(campaign=campaign))

    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        counts = sending.progress(campaign=campaign)
        return Response({"status": campaign.status, "recipients": campaign.recipients, "sends": counts})

    def _run(self, change) -> Response:
        """Apply a state change; 409 when the campaign's state does not allow it, 400 when it is not ready."""
        campaign = self.get_object()
        try:
            done = change(campaign)
        except sending.SendingError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        if not done:
            return Response({"detail": f"Not allowed while the campaign is {campaign.status}."}, status=409)
        campaign.refresh_from_db()
        return Response(CampaignSerializer(campaign).data)
