"""The lists and segments API under /api/v1/: segments with their counts, lists with their members.

Segment conditions are checked by leads/conditions.py, as in the admin, so a
wrong condition is a 400 naming the condition, the field and the reason. List
members are added and removed by lead id or email, many at a time, in one
statement each (leads/lists.py).
"""

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from leads.api import (
    ERRORS,
    BoundedJSONParser,
    LeadSerializer,
    ModelPermissions,
    PayloadTooLarge,
    StrictSerializer,
    Text,
)
from leads.conditions import ConditionError, clean_definition
from leads.lists import add_to_list, remove_from_list, resolve_leads
from leads.models import Lead, LeadList, ListMembership, Segment
from leads.segments import count_definition, custom_fields_for, segment_members

MAX_MEMBERS_PER_REQUEST = 10_000
MEMBERS_BODY_MAX = 1024 * 1024
COUNT = inline_serializer("SegmentCount", {"count": serializers.IntegerField()})
MEMBERS_LEADS = Lead.objects.select_related("company", "owner").prefetch_related("tags").order_by("pk")


class SegmentSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(required=False, help_text="Conditions and groups; see the README table.")

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "match", "conditions", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def to_internal_value(self, data) -> dict:
        refuse_unknown(data, self.fields)
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        current = self.instance.definition if self.instance else {"match": "all", "conditions": []}
        definition = {"match": attrs.get("match", current["match"]), "conditions": attrs.get("conditions",
                      current["conditions"])}  # fmt: skip
        attrs["conditions"] = clean_or_400(definition)["conditions"]
        return attrs


def refuse_unknown(data: object, fields: dict) -> None:
    if isinstance(data, dict) and (unknown := sorted(set(data) - set(fields))):
        raise serializers.ValidationError({name: [_("is not a field of this endpoint")] for name in unknown})


def clean_or_400(definition: object) -> dict:
    try:
        return clean_definition(definition, custom_fields=custom_fields_for(definition))
    except ConditionError as error:
        raise serializers.ValidationError({"conditions": error.problems}) from None


class DefinitionSerializer(StrictSerializer):
    match = serializers.ChoiceField(choices=Segment.Match.choices, default=Segment.Match.ALL)
    conditions = serializers.JSONField(default=list)


class CountPermissions(ModelPermissions):
    """Counting an unsaved definition is a read, though it is a POST: viewers of segments may."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


@extend_schema_view(
    create=extend_schema(responses={201: SegmentSerializer, **ERRORS}),
    update=extend_schema(responses={200: SegmentSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: SegmentSerializer, **ERRORS}),
)
class SegmentViewSet(viewsets.ModelViewSet):
    """Dynamic segments: leads matching conditions now (never stored), counted and listed on demand."""

    queryset = Segment.objects.order_by("pk")
    serializer_class = SegmentSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [BoundedJSONParser]
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list:
        return [CountPermissions()] if self.action == "count_definition" else super().get_permissions()

    @extend_schema(summary="How many leads the segment matches now", responses={200: COUNT})
    @action(detail=True, methods=["get"])
    def count(self, request: Request, pk: str) -> Response:
        return Response({"count": segment_members(self.get_object()).count()})

    @extend_schema(
        summary="Count an unsaved definition",
        request=DefinitionSerializer,
        responses={200: COUNT, **ERRORS},
        description="The live count of the admin's builder: {match, conditions} in, {count} out.",
    )
    @action(detail=False, methods=["post"], url_path="count", url_name="count-definition")
    def count_definition(self, request: Request) -> Response:
        incoming = DefinitionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        definition = clean_or_400(dict(incoming.validated_data))
        return Response({"count": count_definition(definition)})

    @extend_schema(summary="The leads the segment matches now", responses={200: LeadSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str) -> Response:
        leads = MEMBERS_LEADS.filter(pk__in=segment_members(self.get_object()).values("pk"))
        page = self.paginate_queryset(leads)
        return self.get_paginated_response(LeadSerializer(page, many=True).data)


# --- Lists ----------------------------------------------------------------------


class LeadListSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = LeadList
        fields = ["id", "name", "description", "kind", "member_count", "created_at"]
        read_only_fields = ["created_at"]

    def to_internal_value(self, data) -> dict:
        refuse_unknown(data, self.fields)
        return super().to_internal_value(data)


class MembersTooLarge(PayloadTooLarge):
    default_detail = gettext_lazy("The request body is larger than 1 MB.")


class MembersParser(BoundedJSONParser):
    body_max = MEMBERS_BODY_MAX
    too_large = MembersTooLarge


class LeadId(serializers.IntegerField):
    """A JSON number and nothing else: "12" is refused, as Text refuses 12."""

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class MembersSerializer(StrictSerializer):
    ids = serializers.ListField(child=LeadId(min_value=1, max_value=2**63 - 1), default=list)
    emails = serializers.ListField(child=Text(max_length=254), default=list)

    def validate(self, attrs: dict) -> dict:
        total = len(attrs["ids"]) + len(attrs["emails"])
        if total == 0:
            raise serializers.ValidationError({"ids": [_("give lead ids or emails")]})
        if total > MAX_MEMBERS_PER_REQUEST:
            message = _("at most %(max)d ids and emails per request") % {"max": MAX_MEMBERS_PER_REQUEST}
            raise serializers.ValidationError({"ids": [message]})
        return attrs


class MembersPermissions(ModelPermissions):
    """Reading members needs view, adding or removing them change, of the list."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.change_%(model_name)s"],
    }


MEMBERS_RESULT = inline_serializer(
    "MembersChanged",
    {"added": serializers.IntegerField(required=False), "removed": serializers.IntegerField(required=False),
     "missing": serializers.ListField(help_text="The ids and emails that match no lead, as given.")},
)  # fmt: skip


class LeadListViewSet(viewsets.ModelViewSet):
    """Static and suppression lists; members are added by the admin, imports, automation or here."""

    queryset = LeadList.objects.annotate(member_count=Count("memberships")).order_by("pk")
    serializer_class = LeadListSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [BoundedJSONParser]
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list:
        return [MembersPermissions()] if self.action == "members" else super().get_permissions()

    def get_parsers(self) -> list:
        # Parsers are chosen before self.action is set; the route's action map already names it.
        if "members" in getattr(self, "action_map", {}).values():
            return [MembersParser()]
        return super().get_parsers()

    @extend_schema(methods=["GET"], summary="The list's members", responses={200: LeadSerializer(many=True)})
    @extend_schema(
        methods=["POST", "DELETE"],
        summary="Add (POST) or remove (DELETE) members by lead id or email",
        request=MembersSerializer,
        responses={200: MEMBERS_RESULT, 400: OpenApiResponse(description="Invalid ids or emails."),
                   413: OpenApiResponse(description="The body is larger than 1 MB.")},
    )  # fmt: skip
    @action(detail=True, methods=["get", "post", "delete"])
    def members(self, request: Request, pk: str) -> Response:
        lead_list = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(members_of(lead_list))
            return self.get_paginated_response(LeadSerializer(page, many=True).data)
        incoming = MembersSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return Response(change_members(lead_list, incoming.validated_data, request=request))


def change_members(lead_list: LeadList, attrs: dict, *, request: Request) -> dict:
    resolved = resolve_leads(ids=attrs["ids"], emails=attrs["emails"])
    if request.method == "DELETE":
        return {"removed": remove_from_list(lead_list=lead_list, leads=resolved.leads), "missing": resolved.missing}
    added = add_to_list(
        lead_list=lead_list, leads=resolved.leads, source=ListMembership.Source.API, user_id=request.user.pk
    )
    return {"added": added, "missing": resolved.missing}


def members_of(lead_list: LeadList) -> QuerySet:
    return MEMBERS_LEADS.filter(list_memberships__lead_list=lead_list)
