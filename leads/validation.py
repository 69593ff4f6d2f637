"""Checking incoming lead values, shared by every ingest path (form, CSV, API, admin).

Pure functions: a dict of raw strings in, cleaned values and a list of
(field, reason) problems out. Display values are kept as entered (trimmed);
keys for matching are computed elsewhere (mautomation/lib/normalize.py).
"""

import math
import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

from leads.models import CustomField, Lead
from mautomation.lib.normalize import email_key, fold

# Lead fields an ingest path may set, with their maximum lengths.
TEXT_FIELDS = {
    name: Lead._meta.get_field(name).max_length
    for name in (
        "last_name",
        "first_name",
        "last_name_kana",
        "first_name_kana",
        "company_name",
        "department",
        "title",
        "phone",
        "source",
    )
}
EMAIL_MAX = Lead._meta.get_field("email").max_length
CUSTOM_PREFIX = "custom:"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^\+?[0-9 ()\-‐‑‒–—―−－ー]{6,30}$")
_validate_email = EmailValidator()
# The everyday address (ASCII, dot-atom local part, LDH labels, a letters-only TLD): a strict subset of
# what EmailValidator accepts, checked in one regex call. Anything else gets the full validator.
_PLAIN_EMAIL = re.compile(r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")

Problem = tuple[str, str]


def clean_email(raw: str) -> tuple[str, str | None]:
    """The email as entered (trimmed) and the reason it is refused, if it is.

    Stored as entered, like every display value; matching uses its key (NFKC, lower case), and
    sending folds it to half-width (campaigns/sending.py), since SMTP takes no full-width ＠.
    """
    value, _key, reason = _checked_email(raw)
    return value, reason


def _checked_email(raw: str) -> tuple[str, str, str | None]:
    """clean_email's address and reason, with its key (normalize.email_key)."""
    value = (raw or "").strip()
    if not value:
        return value, "", _("is required")
    if len(value) > EMAIL_MAX:
        too_long = _("is too long (%(length)d characters, at most %(max)d)")
        return value, "", too_long % {"length": len(value), "max": EMAIL_MAX}
    key = email_key(value)
    return value, key, None if is_email(key) else _("is not a valid email address")


def is_email(key: str) -> bool:
    """Whether an email key (see normalize.email_key) is an address Django's EmailValidator accepts."""
    if len(key) <= 320 and _PLAIN_EMAIL.fullmatch(key):  # NFKC can lengthen ("ﬀ" is "ff"): the limit stays
        return True
    try:
        _validate_email(key)
    except ValidationError:
        return False
    return True


def clean_text(field: str, raw: str, *, control: bool = True) -> tuple[str, str | None]:
    """control=False: the caller already knows the value has no control characters."""
    value = (raw or "").strip()
    limit = TEXT_FIELDS[field]
    if len(value) > limit:
        return value, _("is too long (%(length)d characters, at most %(max)d)") % {"length": len(value), "max": limit}
    if control and _CONTROL.search(value):
        return value, _("contains control characters")
    if field == "phone" and value and not _PHONE.match(fold(value)):
        return value, _("is not a phone number (digits, spaces, dashes, parentheses and a leading +)")
    return value, None


def clean_custom(field: CustomField, raw: str) -> tuple[object, str | None]:
    value = fold(raw) if field.kind != CustomField.Kind.TEXT else (raw or "").strip()
    if value == "":
        return "", None
    if field.kind == CustomField.Kind.NUMBER:
        return _clean_number(value)
    if field.kind == CustomField.Kind.DATE:
        try:
            return date.fromisoformat(value.replace("/", "-")).isoformat(), None
        except ValueError:
            return value, _("is not a date (YYYY-MM-DD)")
    if field.kind == CustomField.Kind.CHOICE and value not in field.choices:
        return value, _("is not one of: %(choices)s") % {"choices": ", ".join(map(str, field.choices))}
    if _CONTROL.search(str(value)):
        return value, _("contains control characters")
    if len(str(value)) > 1000:
        return value, _("is too long (%(length)d characters, at most %(max)d)") % {"length": len(value), "max": 1000}
    return value, None


def _clean_number(value: str) -> tuple[object, str | None]:
    try:
        number = float(value) if "." in value or "e" in value.lower() else int(value.replace(",", ""))
    except ValueError:
        return value, _("is not a number")
    if isinstance(number, float) and not math.isfinite(number):  # "1e999" is infinity: no database stores it
        return value, _("is not a number")
    return number, None


def clean_lead_values(raw: dict[str, str], *, custom_fields: dict[str, CustomField]) -> tuple[dict, list[Problem]]:
    """Validate one person's values. Keys: "email", TEXT_FIELDS, "custom:KEY" and "tags"."""
    values, _key, problems = clean_lead_row(raw, custom_fields=custom_fields)
    return values, problems


def clean_lead_row(raw: dict[str, str], *, custom_fields: dict[str, CustomField]) -> tuple[dict, str, list[Problem]]:
    """clean_lead_values and the email's key, for the import's hot loop (each key computed once)."""
    values: dict = {"custom": {}}
    problems: list[Problem] = []
    values["email"], key, reason = _checked_email(raw.get("email", ""))
    if reason:
        problems.append(("email", reason))
    control = _CONTROL.search("".join(raw.values())) is not None  # one search per row; most rows have none
    for field, value in raw.items():
        if field in TEXT_FIELDS:
            values[field], reason = clean_text(field, value, control=control)
        elif field.startswith(CUSTOM_PREFIX):
            reason = _clean_custom_into(values["custom"], field, value, custom_fields)
        elif field == "tags":
            values["tags"], reason = clean_tags(value)
        else:
            reason = None if field == "email" else _("is not a lead field")
        if reason:
            problems.append((field, reason))
    return values, key, problems


def _clean_custom_into(target: dict, field: str, value: str, custom_fields: dict[str, CustomField]) -> str | None:
    key = field.removeprefix(CUSTOM_PREFIX)
    if key not in custom_fields:
        return _("is not a custom field defined in the admin")
    target[key], reason = clean_custom(custom_fields[key], value)
    return reason


def clean_tags(raw: str) -> tuple[list[str], str | None]:
    tags = [tag.strip() for tag in re.split(r"[,、，;]", raw or "") if tag.strip()]
    too_long = [tag for tag in tags if len(tag) > 100]
    if too_long:
        return tags, _("has a tag longer than 100 characters")
    return sorted(set(tags)), None
