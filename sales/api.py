"""/api/v1/opportunities/: list, create, read and update; stage changes go through sales.opportunities.

A sales user sees and changes only their own opportunities: another user's id is
a 404, the same answer as an id that does not exist.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from leads.api import BIGINT_MAX, BoundedJSONParser, ModelPermissions, StrictSerializer, Text
from leads.models import Lead
from sales import access, opportunities
from sales.models import AMOUNT_MAX, AttributionTouch, Opportunity


class AttributionTouchSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="email_opened, email_clicked or form_submit")

    class Meta:
        model = AttributionTouch
        fields = ["role", "kind", "campaign_id", "form_id", "occurred_at"]
        read_only_fields = fields


class OpportunitySerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    touches = AttributionTouchSerializer(many=True, read_only=True)

    class Meta:
        model = Opportunity
        fields = ["id", "lead", "company", "name", "amount", "expected_close", "stage", "owner", "touches"]
        fields += ["created_at", "updated_at", "closed_at"]
        read_only_fields = fields


def check_amount(value):
    if value < 0:
        raise serializers.ValidationError(_("The amount cannot be negative."))
    if value > AMOUNT_MAX:
        raise serializers.ValidationError(_("The amount cannot exceed %(max)s.") % {"max": f"{AMOUNT_MAX:,}"})
    return value


class LeadField(serializers.PrimaryKeyRelatedField):
    """A lead id; one beyond a 64-bit integer is "not found", not the database's overflow error."""

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip().isdigit():
            data = int(data)
        if isinstance(data, int) and not isinstance(data, bool) and not 0 < data <= BIGINT_MAX:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class OpportunityWriteSerializer(StrictSerializer):
    """Create: lead, name, amount, expected_close (not in the past). Update: any of them but lead, and stage."""

    lead = LeadField(queryset=Lead.objects.all(), required=False)
    name = Text(max_length=200, required=False)
    # Generous digits so an absurd amount gets the range message, not a digit count.
    amount = serializers.DecimalField(max_digits=40, decimal_places=2, required=False, validators=[check_amount])
    expected_close = serializers.DateField(required=False)
    stage = serializers.ChoiceField(choices=Opportunity.Stage.choices, required=False)

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError(_("Give the opportunity a name."))
        return value.strip()

    def validate(self, attrs: dict) -> dict:
        instance: Opportunity | None = self.instance
        if instance is None:
            missing = [name for name in ("lead", "name", "amount", "expected_close") if name not in attrs]
            if missing:
                raise serializers.ValidationError({name: [_("This field is required.")] for name in missing})
        elif "lead" in attrs and attrs["lead"].pk != instance.lead_id:
            raise serializers.ValidationError({"lead": [_("An opportunity cannot move to another lead.")]})
        close = attrs.get("expected_close")
        if close and close < timezone.localdate() and (instance is None or close != instance.expected_close):
            raise serializers.ValidationError({"expected_close": [_("The expected close date cannot be in the past.")]})
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Opportunities (a sales user's own; every one for marketers)"),
    retrieve=extend_schema(summary="One opportunity, with its attribution touches"),
    create=extend_schema(
        summary="Convert a lead into an opportunity",
        request=OpportunityWriteSerializer,
        responses=OpportunitySerializer,
    ),
    update=extend_schema(summary="Change an opportunity", request=OpportunityWriteSerializer),
    partial_update=extend_schema(summary="Change some fields of an opportunity", request=OpportunityWriteSerializer),
)
class OpportunityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    serializer_class = OpportunitySerializer
    permission_classes = [ModelPermissions]
    parser_classes = [BoundedJSONParser]
    queryset = Opportunity.objects.none()  # names the model for the permissions

    def get_queryset(self):
        rows = access.visible_opportunities(self.request.user).select_related("owner")
        return rows.prefetch_related("touches").order_by("-updated_at", "-pk")

    def create(self, request: Request) -> Response:
        incoming = OpportunityWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        terms = opportunities.Terms(name=data["name"], amount=data["amount"], expected_close=data["expected_close"])
        with transaction.atomic():
            created = opportunities.convert(lead=data["lead"], terms=terms, user=request.user)
            if data.get("stage") and data["stage"] != created.stage:
                opportunities.change_stage(opportunity=created, to=data["stage"], user=request.user)
        return Response(OpportunitySerializer(self._fresh(created.pk)).data, status=201)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        instance = self.get_object()
        incoming = OpportunityWriteSerializer(instance, data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        with transaction.atomic():
            terms = {name: data.get(name, getattr(instance, name)) for name in ("name", "amount", "expected_close")}
            opportunities.update_terms(opportunity=instance, terms=opportunities.Terms(**terms))
            if "stage" in data:
                opportunities.change_stage(opportunity=instance, to=data["stage"], user=request.user)
        return Response(OpportunitySerializer(self._fresh(instance.pk)).data)

    def _fresh(self, pk: int) -> Opportunity:
        return self.get_queryset().get(pk=pk)
