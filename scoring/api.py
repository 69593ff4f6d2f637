from rest_framework import permissions, serializers, viewsets

from scoring.models import ScoringRule
from scoring.rules import rule_problems


class ScoringRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = [
            "id", "name", "event_kind", "url_match", "url_pattern", "form_id", "campaign_id",
            "event_name", "points", "frequency", "active", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict) -> dict:
        current = {f: getattr(self.instance, f) for f in self.Meta.fields if f != "id"} if self.instance else {}
        problems = rule_problems(ScoringRule(**{**current, **attrs}))
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class ReadForViewersWriteWithPermission(permissions.DjangoModelPermissions):
    """Model permissions, including `view` for reads (DRF's default lets any user read)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class ScoringRuleViewSet(viewsets.ModelViewSet):
    """Behaviour scoring rules: points per event kind, URL, form, campaign or custom event."""

    queryset = ScoringRule.objects.order_by("pk")
    serializer_class = ScoringRuleSerializer
    permission_classes = [permissions.IsAuthenticated, ReadForViewersWriteWithPermission]

    def perform_destroy(self, instance: ScoringRule) -> None:
        # Rules with ledger rows are deactivated, not deleted, so every point keeps its reason.
        if instance.scoreentry_set.exists():
            instance.active = False
            instance.save(update_fields=["active"])
        else:
            instance.delete()
