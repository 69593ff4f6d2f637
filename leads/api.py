"""The leads API under /api/v1/: list and read leads, upsert one by email, record events.

Writes go through the domain functions every other ingest path uses:
clean_lead_values checks lead values, upsert_lead stores them, stream.record
appends events and stream.identify joins a website visitor to a lead. Unknown
fields are refused by name, never dropped.
"""

import io
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, generics, mixins, permissions, serializers, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from leads import stream, tracking
from leads.models import Activity, Company, Consent, CustomField, Lead
from leads.upsert import ConsentGrant, Outcome, Upserted, upsert_lead
from leads.validation import CUSTOM_PREFIX, TEXT_FIELDS, Problem, clean_custom, clean_email, clean_lead_values
from mautomation.lib.normalize import email_key

BODY_MAX = 64 * 1024
EVENT_DATA_MAX = 10 * 1024
INTERNAL_KINDS = {Activity.Kind.SCORE_CHANGED, Activity.Kind.STAGE_CHANGED}
EVENT_KINDS = [(value, label) for value, label in Activity.Kind.choices if value not in INTERNAL_KINDS]
INT_MAX, BIGINT_MAX = 2**31 - 1, 2**63 - 1  # beyond them SQLite raises OverflowError, not "no match"
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


# --- Input handling -------------------------------------------------------------


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = gettext_lazy("The request body is larger than 64 KB.")
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    """DRF's parser reads a body of any size; no lead or event needs more than BODY_MAX bytes."""

    body_max = BODY_MAX
    too_large = PayloadTooLarge

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(self.body_max + 1)
        if len(body) > self.body_max:
            raise self.too_large()
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
            storable = _storable(data)
        except RecursionError:  # json.loads gives up on deep nesting with this, not a ValueError
            raise exceptions.ParseError(_("JSON parse error - nested too deeply")) from None
        if not storable:
            raise exceptions.ParseError(
                _("JSON parse error - a string holds \\u0000 or a lone surrogate, or a number is too large")
            )
        return data


def _storable(value: object) -> bool:
    """False for NUL, lone surrogates and infinite numbers: valid JSON that the database cannot store."""
    if isinstance(value, str):
        return not _UNSTORABLE.search(value)
    if isinstance(value, float):  # 1e999 parses as inf, which JSON columns cannot hold
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


class Text(serializers.CharField):
    """A JSON string and nothing else: CharField would turn 42 into "42" and phone 0312 into "312"."""

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}], "nullable": True})
class CustomValue(serializers.Field):
    """A custom field's value: a string or a number, checked against its definition later."""

    def to_internal_value(self, data) -> str:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            raise serializers.ValidationError(_("must be a string or a number"))
        return str(data)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObject(serializers.JSONField):
    def to_internal_value(self, data) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError(_("must be a JSON object"))
        if len(json.dumps(data, ensure_ascii=False).encode()) > EVENT_DATA_MAX:
            raise serializers.ValidationError(_("is larger than 10 KB"))
        return data


def check_http_url(value: str) -> None:
    if reason := tracking.url_problem("URL", value):
        raise serializers.ValidationError(reason)


def check_visitor_id(value: str) -> None:
    if reason := tracking.visitor_id_problem(value):
        raise serializers.ValidationError(reason)


class StrictSerializer(serializers.Serializer):
    """Refuses the fields it does not know, naming them, instead of dropping them silently."""

    def to_internal_value(self, data) -> dict:
        if isinstance(data, Mapping) and (unknown := sorted(set(data) - set(self.fields))):
            raise serializers.ValidationError({name: [_("is not a field of this endpoint")] for name in unknown})
        return super().to_internal_value(data)


# --- Leads ----------------------------------------------------------------------


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "domain"]


class OwnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]


class LeadSerializer(serializers.ModelSerializer):
    company = CompanySerializer(read_only=True)
    owner = OwnerSerializer(read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Lead
        fields = ["id", "email", *TEXT_FIELDS, "company", "stage", "owner", "email_status", "consent", "score"]
        fields += ["fit_score", "mql_at", "custom", "tags", "first_touch", "last_touch", "created_at", "updated_at"]
        fields += ["last_activity_at"]
        read_only_fields = fields


class ConsentSerializer(StrictSerializer):
    method = serializers.ChoiceField(choices=Consent.Method.choices, default=Consent.Method.API)
    wording = Text(allow_blank=True, max_length=5000, default="", help_text="The consent wording the person saw.")
    source = Text(allow_blank=True, max_length=255, default="")


class TouchSerializer(StrictSerializer):
    url = Text(required=False, allow_blank=True, validators=[check_http_url], help_text="The landing page.")
    referrer = Text(required=False, allow_blank=True, validators=[check_http_url])
    utm_source = Text(required=False, allow_blank=True, max_length=tracking.UTM_MAX)
    utm_medium = Text(required=False, allow_blank=True, max_length=tracking.UTM_MAX)
    utm_campaign = Text(required=False, allow_blank=True, max_length=tracking.UTM_MAX)
    utm_term = Text(required=False, allow_blank=True, max_length=tracking.UTM_MAX)
    utm_content = Text(required=False, allow_blank=True, max_length=tracking.UTM_MAX)


class LeadUpsertSerializer(StrictSerializer):
    """Values are checked by leads.validation.clean_lead_values, as for forms and CSV imports."""

    email = Text(trim_whitespace=False, help_text="The key: an existing lead with this address is updated.")
    custom = serializers.DictField(
        child=CustomValue(allow_null=True), required=False, help_text="Custom field values by key."
    )
    tags = serializers.ListField(child=Text(), required=False, help_text="Tag names; a comma separates two tags.")
    consent = ConsentSerializer(required=False, help_text="Record that the person agreed to receive email.")
    touch = TouchSerializer(required=False, help_text="UTM and referrer of the visit that brought the lead.")
    visitor_id = Text(required=False, validators=[check_visitor_id], help_text="window.mautomation.visitorId()")

    def get_fields(self) -> dict:
        text = {name: Text(required=False, allow_blank=True, trim_whitespace=False) for name in TEXT_FIELDS}
        return {**text, **super().get_fields()}

    def validate(self, attrs: dict) -> dict:
        custom_fields = {field.key: field for field in CustomField.objects.all()}
        attrs["values"], problems = clean_lead_values(_raw_values(attrs), custom_fields=custom_fields)
        if problems:
            raise serializers.ValidationError(_errors(problems))
        return attrs


def _raw_values(attrs: dict) -> dict[str, str]:
    """The API's JSON shaped as clean_lead_values expects it: flat strings."""
    raw = {name: attrs[name] for name in ("email", *TEXT_FIELDS) if name in attrs}
    for key, value in attrs.get("custom", {}).items():
        raw[CUSTOM_PREFIX + key] = "" if value is None else value
    if "tags" in attrs:
        raw["tags"] = ",".join(attrs["tags"])
    return raw


def _errors(problems: list[Problem]) -> dict:
    """clean_lead_values' problems shaped like the body: {"phone": [...], "custom": {"size": [...]}}."""
    errors: dict = {}
    for field, reason in problems:
        if field.startswith(CUSTOM_PREFIX):
            errors.setdefault("custom", {}).setdefault(field.removeprefix(CUSTOM_PREFIX), []).append(reason)
        else:
            errors.setdefault(field, []).append(reason)
    return errors


@transaction.atomic
def upsert_from_api(attrs: dict) -> Upserted:
    """Store the lead and, given a visitor id, join that visitor's website history to it."""
    consent = ConsentGrant(**attrs["consent"]) if "consent" in attrs else None
    touch = {key: value for key, value in attrs.get("touch", {}).items() if value}
    upserted = upsert_lead(values=attrs["values"], consent=consent, touch=touch or None)
    if attrs.get("visitor_id"):
        stream.identify(visitor_id=attrs["visitor_id"], lead=upserted.lead)
    return upserted


class LeadFilter(serializers.Serializer):
    email = Text(required=False, help_text="Exact address, however it is typed (case, full-width).")
    stage = serializers.ChoiceField(choices=Lead.Stage.choices, required=False)
    owner = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX, help_text="User id.")
    company = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX, help_text="Company id.")
    email_status = serializers.ChoiceField(choices=Lead.EmailStatus.choices, required=False)
    tag = serializers.ListField(child=Text(), required=False, help_text="Repeat to require several tags.")
    score_min = serializers.IntegerField(required=False, min_value=-INT_MAX, max_value=INT_MAX)
    score_max = serializers.IntegerField(required=False, min_value=-INT_MAX, max_value=INT_MAX)
    updated_since = serializers.DateTimeField(required=False, help_text="ISO 8601; without an offset, in TIME_ZONE.")


LOOKUPS = {
    "stage": "stage",
    "owner": "owner_id",
    "company": "company_id",
    "email_status": "email_status",
    "score_min": "score__gte",
    "score_max": "score__lte",
    "updated_since": "updated_at__gte",
}
CUSTOM_PARAM = "custom."


def filter_leads(queryset: QuerySet, params: QueryDict) -> QuerySet:
    """The list's query parameters applied; an unknown or malformed one is a 400, never ignored."""
    if not _storable(dict(params.lists())):
        raise exceptions.ParseError(_("a query parameter holds \\u0000 or a lone surrogate"))
    known = {*LeadFilter().fields, "page", "page_size"}
    if unknown := sorted(name for name in params if name not in known and not name.startswith(CUSTOM_PARAM)):
        raise serializers.ValidationError({name: [_("is not a filter of this list")] for name in unknown})
    incoming = LeadFilter(data=params)
    incoming.is_valid(raise_exception=True)
    filters = incoming.validated_data
    queryset = queryset.filter(**{LOOKUPS[name]: value for name, value in filters.items() if name in LOOKUPS})
    if "email" in filters:
        queryset = queryset.filter(email_key=email_key(filters["email"]))
    for tag in filters.get("tag", []):  # one join per tag: a lead must carry all of them
        queryset = queryset.filter(tags__name=tag)
    custom = {name.removeprefix(CUSTOM_PARAM): params[name] for name in params if name.startswith(CUSTOM_PARAM)}
    return _filter_custom(queryset, custom) if custom else queryset


def _filter_custom(queryset: QuerySet, wanted: dict[str, str]) -> QuerySet:
    """custom.KEY=value, the value typed by the field's definition (a number matches a number)."""
    fields = {field.key: field for field in CustomField.objects.filter(key__in=wanted)}
    errors, values = {}, {}
    for key, raw in wanted.items():
        if key not in fields:
            errors[CUSTOM_PARAM + key] = [_("is not a custom field defined in the admin")]
            continue
        values[key], reason = clean_custom(fields[key], raw)
        if reason:
            errors[CUSTOM_PARAM + key] = [reason]
    if errors:
        raise serializers.ValidationError(errors)
    # KeyTransform rather than custom__KEY: a slug may contain "__", which a lookup would split.
    aliases = {f"custom_{index}": KeyTransform(key, "custom") for index, key in enumerate(values)}
    queryset = queryset.alias(**aliases)
    return queryset.filter(**{f"custom_{index}": value for index, value in enumerate(values.values())})


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django's model permissions with reading included: the sales role may view, not change."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class UpsertPermissions(ModelPermissions):
    """An upsert may create or change a lead, so it needs both permissions."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }


ERRORS = {
    400: OpenApiResponse(description="Invalid input: {field: [reasons]}, unknown fields named."),
    413: OpenApiResponse(description="The body is larger than 64 KB."),
}


@extend_schema_view(
    list=extend_schema(
        summary="List leads",
        description="Filters combine with AND. `custom.KEY=value` filters on a custom field (KEY as defined in "
        "the admin); an unknown parameter is a 400.",
        parameters=[LeadFilter],
    ),
    retrieve=extend_schema(summary="One lead", parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)]),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Lead.objects.select_related("company", "owner").prefetch_related("tags").order_by("-updated_at", "-pk")
    serializer_class = LeadSerializer
    permission_classes = [UpsertPermissions]
    parser_classes = [BoundedJSONParser]
    lookup_value_regex = r"\d+"

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return filter_leads(queryset, self.request.query_params) if self.action == "list" else queryset

    @extend_schema(
        summary="Create or update a lead by email",
        request=LeadUpsertSerializer,
        responses={201: LeadSerializer, 200: LeadSerializer, **ERRORS},
        description="201 when the lead was created, 200 when it existed (updated or unchanged). Empty values "
        "never erase stored ones. With `visitor_id`, the visitor's website history joins the lead.",
    )
    def create(self, request: Request) -> Response:
        incoming = LeadUpsertSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        upserted = upsert_from_api(incoming.validated_data)
        lead = self.get_queryset().get(pk=upserted.lead.pk)
        return Response(LeadSerializer(lead).data, status=201 if upserted.outcome == Outcome.CREATED else 200)


# --- Events ---------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "kind", "lead", "visitor_id", "occurred_at", "url", "data", "dedup_key", "processed_at"]
        read_only_fields = fields


class EventSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=EVENT_KINDS)
    email = Text(required=False, trim_whitespace=False, help_text="The lead's address; give it or visitor_id.")
    visitor_id = Text(required=False, validators=[check_visitor_id])
    create_lead = serializers.BooleanField(default=False, help_text="Create the lead when the email is unknown.")
    url = Text(allow_blank=True, default="", validators=[check_http_url])
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: now. At most a year ago.")
    data = JSONObject(required=False, help_text="Anything about the event, up to 10 KB.")
    dedup_key = Text(required=False, max_length=200, help_text="Posting the same key again returns the first event.")

    def validate_email(self, value: str) -> str:
        value, reason = clean_email(value)
        if reason:
            raise serializers.ValidationError(reason)
        return value

    def validate_occurred_at(self, value: datetime) -> datetime:
        now = timezone.now()
        if value > now + timedelta(minutes=5):
            raise serializers.ValidationError(_("is more than 5 minutes in the future"))
        if value < now - timedelta(days=365):
            raise serializers.ValidationError(_("is more than a year ago"))
        return value

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("email") and not attrs.get("visitor_id"):
            raise serializers.ValidationError({"email": [_("give an email or a visitor_id")]})
        if "email" in attrs:
            attrs["lead"] = Lead.objects.filter(email_key=email_key(attrs["email"])).first()
            if attrs["lead"] is None and not attrs["create_lead"]:
                raise serializers.ValidationError({"email": [_("no lead with this email")]})
        return attrs


@transaction.atomic
def record_from_api(attrs: dict) -> tuple[Activity, bool]:
    """The event and whether it is new (False: its dedup_key was already recorded)."""
    lead, visitor = attrs.get("lead"), attrs.get("visitor_id", "")
    if lead is None and "email" in attrs:
        lead = upsert_lead(values={"email": attrs["email"]}).lead
    data = attrs.get("data", {})
    activity = stream.record(
        kind=attrs["kind"], lead=lead, visitor_id=visitor, occurred_at=attrs.get("occurred_at"),
        dedup_key=attrs.get("dedup_key"), url=attrs["url"], data=data,
    )  # fmt: skip
    if lead is not None and visitor:
        stream.identify(visitor_id=visitor, lead=lead)
    # record() answers a known dedup_key with the stored row, read back from the
    # database; only a row it created itself still holds our own data dict.
    return activity, activity.data is data


class EventView(generics.GenericAPIView):
    queryset = Activity.objects.none()  # names the model for the permissions
    serializer_class = EventSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        summary="Record an event for a lead or a website visitor",
        responses={201: ActivitySerializer, 200: ActivitySerializer, **ERRORS},
        description="201 when recorded, 200 when an event with the same dedup_key exists (it is returned). "
        "With both email and visitor_id, the visitor's website history joins the lead.",
    )
    def post(self, request: Request) -> Response:
        incoming = EventSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        activity, created = record_from_api(incoming.validated_data)
        return Response(ActivitySerializer(activity).data, status=201 if created else 200)
