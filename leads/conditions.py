"""Segment conditions: the fields a marketer may filter on, their operators, and validation.

Pure: a definition (JSON from the admin builder or the API) goes in; a cleaned
definition comes out, or every problem with the condition, field and reason.
leads/segments.py compiles a cleaned definition to SQL. A definition is
{"match": "all"|"any", "conditions": [condition or group, ...]}, a condition is
{"field": ..., "op": ..., "value": ..., "days": N (behaviour only, optional)} and a
group is {"match": ..., "conditions": [conditions]}, nested one level only.
"""

import math
import re
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.models import CustomField, Lead

MAX_CONDITIONS = 100  # in the whole definition; a marketer's segment has a handful
MAX_TEXT = 255
MAX_URL = 1000
MAX_ITEMS = 100
MAX_DAYS = 3650
MAX_LAST_EMAILS = 50
MAX_ID = 2**63 - 1
MAX_NUMBER = 1e15
CUSTOM_PREFIX = "custom."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Operators by kind of field. Each negative operator is the NOT of a positive one
# (NEGATIONS), so "does not contain" includes leads without a value.
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("is", "is_not", "contains", "not_contains", "starts_with", "is_empty", "is_not_empty"),
    "domain": ("is", "is_not"),
    "choice": ("in", "not_in"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte"),
    "bool": ("is",),
    "date": ("within_days", "older_than_days", "is_empty", "is_not_empty"),
    "tag": ("has", "has_not"),
    "list": ("in", "not_in"),
    "email_event": ("did", "did_not"),
    "form_event": ("did", "did_not"),
    "url_event": ("prefix", "contains", "not_prefix", "not_contains"),
    "unopened": ("last",),
}
NEGATIONS = {
    "is_not": "is",
    "not_contains": "contains",
    "is_not_empty": "is_empty",
    "not_in": "in",
    "ne": "eq",
    "has_not": "has",
    "did_not": "did",
    "not_prefix": "prefix",
}
# Operators that take no value.
VALUELESS = {"is_empty", "is_not_empty"}
# Kinds whose conditions may say "in the last N days".
WITH_DAYS = {"email_event", "form_event", "url_event"}

OPERATOR_LABELS: dict[str, Promise] = {
    "is": gettext_lazy("is"),
    "is_not": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "starts_with": gettext_lazy("starts with"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is not empty"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "within_days": gettext_lazy("within the last N days"),
    "older_than_days": gettext_lazy("more than N days ago"),
    "has": gettext_lazy("has"),
    "has_not": gettext_lazy("does not have"),
    "did": gettext_lazy("did"),
    "did_not": gettext_lazy("did not"),
    "prefix": gettext_lazy("URL starts with"),
    "not_prefix": gettext_lazy("no URL starting with"),
    "last": gettext_lazy("for the last N emails"),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of the builder: its kind decides operators and value; path is where it lives."""

    kind: str
    label: Promise | str
    group: str = "lead"
    path: str = ""
    choices: tuple = field(default_factory=tuple)
    integer: bool = False  # number fields stored as integers refuse 1.5


def _choices(values: list[str]) -> tuple:
    return tuple(values)


FIELDS: dict[str, FieldSpec] = {
    "email_domain": FieldSpec("domain", gettext_lazy("Email domain"), path="email_key"),
    "stage": FieldSpec("choice", gettext_lazy("Lifecycle stage"), path="stage", choices=_choices(Lead.Stage.values)),
    "source": FieldSpec("text", gettext_lazy("Source"), path="source"),
    "title": FieldSpec("text", gettext_lazy("Job title"), path="title"),
    "department": FieldSpec("text", gettext_lazy("Department"), path="department"),
    "company_name": FieldSpec("text", gettext_lazy("Company name (as entered)"), path="company_name"),
    "created_at": FieldSpec("date", gettext_lazy("Created"), path="created_at"),
    "last_activity_at": FieldSpec("date", gettext_lazy("Last activity"), path="last_activity_at"),
    "email_status": FieldSpec(
        "choice", gettext_lazy("Email status"), path="email_status", choices=_choices(Lead.EmailStatus.values)
    ),
    "consent": FieldSpec("bool", gettext_lazy("Consent to email"), path="consent"),
    "score": FieldSpec("number", gettext_lazy("Score"), path="score", integer=True),
    "fit_score": FieldSpec("number", gettext_lazy("Fit score"), path="fit_score", integer=True),
    "tag": FieldSpec("tag", gettext_lazy("Tag")),
    "list": FieldSpec("list", gettext_lazy("List membership")),
    "company.name": FieldSpec("text", gettext_lazy("Company name"), "company", "name"),
    "company.industry": FieldSpec("text", gettext_lazy("Industry"), "company", "industry"),
    "company.employees": FieldSpec("number", gettext_lazy("Employees"), "company", "employees", integer=True),
    "opened": FieldSpec("email_event", gettext_lazy("Opened an email of campaign"), "behaviour"),
    "clicked": FieldSpec("email_event", gettext_lazy("Clicked in an email of campaign"), "behaviour"),
    "submitted_form": FieldSpec("form_event", gettext_lazy("Submitted form"), "behaviour"),
    "visited": FieldSpec("url_event", gettext_lazy("Visited a page"), "behaviour"),
    "not_opened_last": FieldSpec("unopened", gettext_lazy("Opened none of the last N emails"), "behaviour"),
}
_CUSTOM_KINDS = {"text": "text", "number": "number", "choice": "choice", "date": "date"}


class ConditionError(ValueError):
    """Every problem of a definition, each naming the condition, the field and the reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def field_spec(name: str, custom_fields: dict[str, CustomField]) -> FieldSpec | None:
    """The spec of a builder field; custom.KEY fields take their kind from their definition."""
    if not name.startswith(CUSTOM_PREFIX):
        return FIELDS.get(name)
    custom = custom_fields.get(name.removeprefix(CUSTOM_PREFIX))
    if custom is None:
        return None
    return FieldSpec(_CUSTOM_KINDS[custom.kind], custom.label, "custom", custom.key, tuple(custom.choices or ()))


def clean_definition(definition: object, *, custom_fields: dict[str, CustomField]) -> dict:
    """The definition with checked, normalised values; ConditionError lists every problem."""
    problems: list[str] = []
    if not isinstance(definition, dict):
        raise ConditionError([_("The definition must be an object with “match” and “conditions”.")])
    cleaned = _clean_group(definition, label="", depth=0, problems=problems, custom_fields=custom_fields)
    if not problems and _count(cleaned) > MAX_CONDITIONS:
        problems.append(_("A segment has at most %(max)d conditions.") % {"max": MAX_CONDITIONS})
    if problems:
        raise ConditionError(problems)
    return cleaned


def _count(group: dict) -> int:
    return sum(_count(row) if "conditions" in row else 1 for row in group["conditions"])


def _clean_group(group: dict, *, label: str, depth: int, problems: list[str], custom_fields: dict) -> dict:
    where = _("Group %(n)s") % {"n": label} if label else _("The segment")
    unknown = set(group) - {"match", "conditions"}
    if unknown:
        problems.append(_("%(where)s: unknown key “%(key)s”.") % {"where": where, "key": sorted(map(str, unknown))[0]})
    match = group.get("match", "all")
    if match not in ("all", "any"):
        problems.append(_("%(where)s: match must be “all” or “any”.") % {"where": where})
    rows = group.get("conditions", [])
    if not isinstance(rows, list):
        problems.append(_("%(where)s: conditions must be a list.") % {"where": where})
        return {"match": match, "conditions": []}
    if len(rows) > MAX_CONDITIONS:
        problems.append(_("A segment has at most %(max)d conditions.") % {"max": MAX_CONDITIONS})
        return {"match": match, "conditions": []}
    cleaned = [
        _clean_row(row, label=f"{label}.{index}" if label else str(index), depth=depth, problems=problems,
                   custom_fields=custom_fields)
        for index, row in enumerate(rows, start=1)
    ]  # fmt: skip
    return {"match": match, "conditions": [row for row in cleaned if row is not None]}


def _clean_row(row: object, *, label: str, depth: int, problems: list[str], custom_fields: dict) -> dict | None:
    if isinstance(row, dict) and "conditions" in row:
        if depth >= 1:
            problems.append(_("Group %(n)s: groups can be nested one level only.") % {"n": label})
            return None
        return _clean_group(row, label=label, depth=depth + 1, problems=problems, custom_fields=custom_fields)
    return _clean_condition(row, label=label, problems=problems, custom_fields=custom_fields)


def _clean_condition(row: object, *, label: str, problems: list[str], custom_fields: dict) -> dict | None:
    if not isinstance(row, dict):
        problems.append(_("Condition %(n)s: must be an object with field, op and value.") % {"n": label})
        return None
    name = row.get("field")
    spec = field_spec(name, custom_fields) if isinstance(name, str) else None
    if spec is None:
        shown = str(name)[:50]
        problems.append(_("Condition %(n)s: unknown field “%(field)s”.") % {"n": label, "field": shown})
        return None
    where = _("Condition %(n)s (%(field)s)") % {"n": label, "field": spec.label}
    reason = _condition_problem(row, spec)
    if reason:
        problems.append(_("%(where)s: %(reason)s") % {"where": where, "reason": reason})
        return None
    return _normalised(row, spec)


def _condition_problem(row: dict, spec: FieldSpec) -> str | None:
    unknown = set(row) - {"field", "op", "value", "days"}
    if unknown:
        return _("unknown key “%(key)s”.") % {"key": sorted(map(str, unknown))[0][:50]}
    op = row.get("op")
    if op not in OPERATORS[spec.kind]:
        ops = ", ".join(OPERATORS[spec.kind])
        return _("operator “%(op)s” is not one of: %(ops)s.") % {"op": str(op)[:50], "ops": ops}
    if "days" in row and spec.kind not in WITH_DAYS:
        return _("“days” applies only to behaviour conditions.")
    if row.get("days") is not None and not _is_int(row["days"], 1, MAX_DAYS):
        return _("days must be a whole number from 1 to %(max)d.") % {"max": MAX_DAYS}
    if op in VALUELESS:
        return None if row.get("value") in (None, "") else _("this operator takes no value.")
    return VALUE_CHECKS[spec.kind](row.get("value"), spec)


def _normalised(row: dict, spec: FieldSpec) -> dict:
    value = None if row["op"] in VALUELESS else row.get("value")
    if spec.kind == "domain":
        value = value.strip().lstrip("@").lower()
    elif isinstance(value, str):
        value = value.strip()
    cleaned = {"field": row["field"], "op": row["op"], "value": value}
    if row.get("days") is not None:
        cleaned["days"] = row["days"]
    return cleaned


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _text_problem(value: object, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return _("the value must be non-empty text.")
    if len(value) > limit:
        return _("the value is too long (%(length)d characters, at most %(max)d).") % {
            "length": len(value),
            "max": limit,
        }
    if _CONTROL.search(value):
        return _("the value contains control characters.")
    return None


def _domain_problem(value: object, spec: FieldSpec) -> str | None:
    problem = _text_problem(value)
    if problem is None and ("@" in value.strip().lstrip("@") or " " in value.strip()):
        return _("the value must be a domain such as example.co.jp.")
    return problem


def _choice_problem(value: object, spec: FieldSpec) -> str | None:
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        return _("the value must be a list of 1 to %(max)d choices.") % {"max": MAX_ITEMS}
    wrong = [item for item in value if item not in spec.choices]
    if wrong:
        allowed = ", ".join(map(str, spec.choices))
        return _("“%(value)s” is not one of: %(choices)s.") % {"value": str(wrong[0])[:50], "choices": allowed}
    return None


def _number_problem(value: object, spec: FieldSpec) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _("the value must be a number.")
    if abs(value) > MAX_NUMBER or (spec.integer and value != int(value)):
        return _("the value must be a whole number between -10^15 and 10^15.")
    return None


def _bool_problem(value: object, spec: FieldSpec) -> str | None:
    return None if isinstance(value, bool) else _("the value must be true or false.")


def _days_problem(value: object, spec: FieldSpec) -> str | None:
    return None if _is_int(value, 1, MAX_DAYS) else _("N must be a whole number from 1 to %(max)d.") % {"max": MAX_DAYS}


def _id_problem(value: object, spec: FieldSpec) -> str | None:
    return None if _is_int(value, 1, MAX_ID) else _("the value must be the id of an existing object.")


def _optional_id_problem(value: object, spec: FieldSpec) -> str | None:
    return None if value is None else _id_problem(value, spec)


def _last_problem(value: object, spec: FieldSpec) -> str | None:
    if _is_int(value, 1, MAX_LAST_EMAILS):
        return None
    return _("N must be a whole number from 1 to %(max)d.") % {"max": MAX_LAST_EMAILS}


VALUE_CHECKS = {
    "text": lambda value, spec: _text_problem(value),
    "domain": _domain_problem,
    "choice": _choice_problem,
    "number": _number_problem,
    "bool": _bool_problem,
    "date": _days_problem,
    "tag": _id_problem,
    "list": _id_problem,
    "email_event": _optional_id_problem,
    "form_event": _optional_id_problem,
    "url_event": lambda value, spec: _text_problem(value, MAX_URL),
    "unopened": _last_problem,
}
