"""Lists and segments as SQL: a cleaned segment definition becomes one WHERE clause on leads.

Every condition is a Q on the lead row or an EXISTS subquery (tags, lists,
company, activities), so a segment, a count or an audience of several lists and
segments is one SQL query, values travelling as parameters only. Definitions are
checked by leads/conditions.py first; the compiler trusts what it is given.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import reduce
from operator import and_, or_

from django.db.models import BooleanField, Case, CharField, Exists, FloatField, Func, OuterRef, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from leads.conditions import CUSTOM_PREFIX, FIELDS, NEGATIONS, FieldSpec, clean_definition, field_spec
from leads.models import Activity, Company, CustomField, Lead, ListMembership, Segment

NOBODY = Q(pk__in=[])
# The tracking helper flags machine opens (privacy proxies) and scanner clicks this way.
# has_key first: a missing key must make this false, not NULL, or NOT(...) would drop human opens.
MACHINE = Q(data__has_key="machine") & (Q(data__machine=True) | Q(data__machine="true"))


class JSONType(Func):
    """The JSON type of a key's value: "number" on PostgreSQL, "integer" or "real" on SQLite."""

    function = "jsonb_typeof"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="typeof", **extra)


JSON_NUMBER_TYPES = ["number", "integer", "real"]


def audience(*, lists: Iterable[int] = (), segments: Iterable[int] = (), exclude_lists: Iterable[int] = ()) -> QuerySet:
    """Distinct leads on any of the lists or in any of the segments, minus members of exclude_lists.

    Not filtered by mailability: sending decides who may be mailed. One SQL query
    (the segments' definitions are read first, in one more): the ids of each list
    and segment are a UNION ALL, so each part keeps its own plan (a small list is
    a few index lookups, not a scan of every lead as an OR of EXISTS would be).
    """
    lists = list(lists)
    sources = [ListMembership.objects.filter(lead_list_id__in=lists).values("lead_id")] if lists else []
    for segment in Segment.objects.filter(pk__in=list(segments)):
        sources.append(Lead.objects.filter(segment_q(segment.definition)).values("pk"))
    if not sources:
        return Lead.objects.none()
    ids = sources[0].union(*sources[1:], all=True) if len(sources) > 1 else sources[0]
    leads = Lead.objects.filter(pk__in=ids)
    exclude_lists = list(exclude_lists)
    return leads.exclude(Exists(_members_of(exclude_lists))) if exclude_lists else leads


def _members_of(list_ids: Iterable[int]) -> QuerySet:
    return ListMembership.objects.filter(lead=OuterRef("pk"), lead_list_id__in=list(list_ids))


def segment_members(segment: Segment) -> QuerySet:
    return Lead.objects.filter(segment_q(segment.definition))


def count_definition(definition: object) -> int:
    """How many leads an unsaved definition matches; ConditionError if it is not valid."""
    custom_fields = custom_fields_for(definition)
    cleaned = clean_definition(definition, custom_fields=custom_fields)
    return Lead.objects.filter(segment_q(cleaned, custom_fields=custom_fields)).count()


def custom_fields_for(definition: object) -> dict[str, CustomField]:
    """The custom field definitions, read only when the definition may name one."""
    if CUSTOM_PREFIX not in str(definition):
        return {}
    return {custom.key: custom for custom in CustomField.objects.all()}


def segment_q(definition: dict, *, now: datetime | None = None, custom_fields: dict | None = None) -> Q:
    """The WHERE clause of a cleaned definition; no conditions match nobody, never everybody.

    Custom fields are read (one query) only when the definition names one: their
    current kind decides how a value compares.
    """
    if custom_fields is None:
        custom_fields = custom_fields_for(definition)
    return _group_q(definition, now=now or timezone.now(), custom_fields=custom_fields)


def _group_q(group: dict, *, now: datetime, custom_fields: dict) -> Q:
    parts = [
        _group_q(row, now=now, custom_fields=custom_fields)
        if "conditions" in row
        else condition_q(row, now=now, custom_fields=custom_fields)
        for row in group.get("conditions", [])
    ]
    if not parts:
        return NOBODY
    return reduce(or_ if group.get("match") == "any" else and_, parts)


def condition_q(condition: dict, *, now: datetime, custom_fields: dict) -> Q:
    spec = field_spec(condition["field"], custom_fields)
    if spec is None:  # a custom field deleted after the segment was saved matches nobody
        return NOBODY
    op = NEGATIONS.get(condition["op"], condition["op"])
    positive = BUILDERS[spec.kind](spec, op, condition.get("value"), now, condition.get("days"))
    return ~positive if op != condition["op"] else positive


def _where(spec: FieldSpec, lookup: str, value: object) -> Q:
    """A lookup on the field wherever it lives: the lead row, its company, or its custom JSON."""
    if spec.group == "company":
        return Q(Exists(Company.objects.filter(pk=OuterRef("company_id"), **{f"{spec.path}__{lookup}": value})))
    if spec.group != "custom":
        return Q(**{f"{spec.path}__{lookup}": value})
    if lookup in ("gt", "gte", "lt", "lte", "exact") and isinstance(value, int | float):
        number = _custom_number(spec.path)
        return _never_null(Q(number.get_lookup(lookup)(number, value)))
    text = Coalesce(KeyTextTransform(spec.path, "custom"), Value(""), output_field=CharField())
    return _never_null(Q(text.get_lookup(lookup)(text, value)))


def _custom_number(key: str) -> Case:
    """The key's value when it is a JSON number, else NULL; the CASE keeps PostgreSQL from casting text."""
    kind = JSONType(KeyTransform(key, "custom"))
    is_number = Q(kind.get_lookup("in")(kind, JSON_NUMBER_TYPES))
    as_float = Cast(KeyTextTransform(key, "custom"), FloatField())
    return Case(When(is_number, then=as_float), default=None, output_field=FloatField())


def _never_null(condition: Q) -> Q:
    """True or false, never NULL, so that NOT of it keeps leads that lack the key."""
    return Q(Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()))


def _text(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    lookups = {"is": ("iexact", value), "contains": ("icontains", value), "starts_with": ("istartswith", value)}
    return _where(spec, *lookups.get(op, ("exact", "")))


def _domain(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    return Q(email_key__endswith="@" + str(value))


def _choice(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    return _where(spec, "in", value)


def _number(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    return _where(spec, "exact" if op == "eq" else op, value)


def _bool(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    return Q(**{spec.path: value})


def _date(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    if op == "is_empty":
        return Q(**{f"{spec.path}__isnull": True}) if spec.group != "custom" else _where(spec, "exact", "")
    cutoff = now - timedelta(days=value)
    if spec.group == "custom":  # ISO dates compare as text; an empty value is neither recent nor old
        bound = cutoff.date().isoformat()
        return _where(spec, "gte" if op == "within_days" else "lt", bound) & ~_where(spec, "exact", "")
    return Q(**{f"{spec.path}__{'gte' if op == 'within_days' else 'lt'}": cutoff})


def _tag(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    return Q(Exists(Lead.tags.through.objects.filter(lead_id=OuterRef("pk"), tag_id=value)))


def _list(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    return Q(Exists(_members_of([value])))


def _activities(kind: str, now: datetime, days: int | None, **where) -> QuerySet:
    rows = Activity.objects.filter(lead=OuterRef("pk"), kind=kind, **where)
    return rows.filter(occurred_at__gte=now - timedelta(days=days)) if days else rows


def _email_event(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    kind = Activity.Kind.EMAIL_OPENED if spec is FIELDS["opened"] else Activity.Kind.EMAIL_CLICKED
    rows = _activities(kind, now, days, **({"campaign_id": value} if value else {}))
    return Q(Exists(rows.exclude(MACHINE)))


def _form_event(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    rows = _activities(Activity.Kind.FORM_SUBMIT, now, days, **({"form_id": value} if value else {}))
    return Q(Exists(rows))


def _url_event(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    lookup = "url__startswith" if op == "prefix" else "url__contains"
    return Q(Exists(_activities(Activity.Kind.PAGE_VIEW, now, days, **{lookup: value})))


def _unopened(spec: FieldSpec, op: str, value: object, now: datetime, days: int | None) -> Q:
    """At least N emails sent, and no human open of the campaigns of the last N.

    Written as "no open whose campaign is among the last N sent" so that each lead
    costs a few index lookups on its timeline, whatever the size of the table.
    """
    sent = Activity.objects.filter(lead=OuterRef("pk"), kind=Activity.Kind.EMAIL_SENT)
    last_campaigns = (
        Activity.objects.filter(lead=OuterRef("lead"), kind=Activity.Kind.EMAIL_SENT)
        .order_by("-occurred_at", "-pk")
        .values("campaign_id")[:value]
    )
    opened = Activity.objects.filter(
        lead=OuterRef("pk"), kind=Activity.Kind.EMAIL_OPENED, campaign_id__in=last_campaigns
    ).exclude(MACHINE)
    return Q(Exists(sent[value - 1 : value])) & ~Q(Exists(opened))


BUILDERS: dict[str, Callable[..., Q]] = {
    "text": _text,
    "domain": _domain,
    "choice": _choice,
    "number": _number,
    "bool": _bool,
    "date": _date,
    "tag": _tag,
    "list": _list,
    "email_event": _email_event,
    "form_event": _form_event,
    "url_event": _url_event,
    "unopened": _unopened,
}
