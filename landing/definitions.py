"""What a form's fields may be: validating Form.fields, and exporting/importing a whole form as JSON.

A form definition is data a marketer edits in the builder (and may paste in as
JSON), so every rule a submission relies on is checked here, before saving:
one email field mapped to the lead's email, options for choice fields, mapped
lead fields that exist, a consent box that is never pre-checked.
"""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from landing.models import Form
from leads.models import CustomField
from leads.validation import CUSTOM_PREFIX, TEXT_FIELDS

FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "radio", "checkboxes", "hidden", "consent")
CHOICE_TYPES = frozenset({"select", "radio", "checkboxes"})
DEFAULT_TOKENS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer")
FIELD_ATTRIBUTES = frozenset(
    {
        "key",
        "type",
        "label",
        "placeholder",
        "help",
        "required",
        "maps_to",
        "options",
        "max_length",
        "default",
        "wording",
    }
)
# Names the form itself posts (token, honeypot, visitor meta): a field may not take them.
RESERVED_KEYS = frozenset({"website", "csrfmiddlewaretoken", "embed", "vid", "page", "ref", *DEFAULT_TOKENS})
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,49}")
MAX_FIELDS = 50
MAX_OPTIONS = 200
OPTION_MAX = 200
LABEL_MAX = 300
TEXT_MAX = 2000  # placeholder, help, default
WORDING_MAX = 5000
VALUE_MAX = 5000  # the largest max_length a field may declare
DEFAULT_MAX_LENGTH = {"textarea": 5000}
STANDARD_MAX_LENGTH = 255

EXPORT_FORMAT = "mautomation.form"
EXPORT_VERSION = 1
EXPORTED_ATTRIBUTES = (
    "name", "slug", "fields", "submit_label", "success_action", "success_message", "redirect_url",
    "asset_link_hours", "auto_reply", "auto_reply_subject", "auto_reply_body", "notify_emails",
    "double_opt_in", "allowed_origins", "min_fill_seconds",
)  # fmt: skip


class DefinitionError(ValueError):
    """An imported form definition is refused; `problems` says why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def max_length(field: dict) -> int:
    """The longest value a field accepts: its own max_length, else its type's default."""
    return field.get("max_length") or DEFAULT_MAX_LENGTH.get(field.get("type"), STANDARD_MAX_LENGTH)


def field_problems(fields: object, *, custom_keys: set[str] | None = None) -> list[str]:
    """Every reason this list of field definitions cannot be saved; empty when it can."""
    if not isinstance(fields, list):
        return [_("The fields must be a list.")]
    if len(fields) > MAX_FIELDS:
        return [
            _("A form has at most %(max)d fields (this one has %(count)d).") % {"max": MAX_FIELDS, "count": len(fields)}
        ]
    if custom_keys is None:
        custom_keys = set(CustomField.objects.values_list("key", flat=True))
    problems = []
    for index, field in enumerate(fields, start=1):
        problems += [_label(index, field) + reason for reason in _one_field_problems(field, custom_keys)]
    return problems + _form_problems([field for field in fields if isinstance(field, dict)])


def _label(index: int, field: object) -> str:
    key = field.get("key") if isinstance(field, dict) else None
    if isinstance(key, str) and key:
        return _("Field %(index)d (%(key)s): ") % {"index": index, "key": key[:50]}
    return _("Field %(index)d: ") % {"index": index}


def _one_field_problems(field: object, custom_keys: set[str]) -> list[str]:
    if not isinstance(field, dict):
        return [_("must be an object with key, type and label.")]
    unknown = sorted(set(map(str, field)) - FIELD_ATTRIBUTES)
    if unknown:
        return [_("unknown attributes: %(names)s.") % {"names": ", ".join(unknown)[:200]}]
    problems = [*_key_problems(field.get("key")), *_type_problems(field)]
    problems += _text_problems(field)
    if field.get("type") in FIELD_TYPES:
        problems += _maps_to_problems(field, custom_keys)
        problems += _options_problems(field)
        problems += _default_problems(field)
    return problems


def _key_problems(key: object) -> list[str]:
    if not isinstance(key, str) or not key:
        return [_("the key is required.")]
    if not KEY_PATTERN.fullmatch(key):
        return [_("the key must be 1 to 50 lowercase letters, digits or '_', starting with a letter.")]
    if key in RESERVED_KEYS:
        return [_("the key '%(key)s' is reserved; choose another.") % {"key": key}]
    return []


def _type_problems(field: dict) -> list[str]:
    kind = field.get("type")
    if kind not in FIELD_TYPES:
        return [_("the type must be one of: %(types)s.") % {"types": ", ".join(FIELD_TYPES)}]
    if not isinstance(field.get("required", False), bool):
        return [_("required must be true or false.")]
    size = field.get("max_length")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= VALUE_MAX):
        return [_("max_length must be a whole number from 1 to %(max)d.") % {"max": VALUE_MAX}]
    return []


def _text_problems(field: dict) -> list[str]:
    problems = []
    limits = {"label": LABEL_MAX, "placeholder": TEXT_MAX, "help": TEXT_MAX, "wording": WORDING_MAX}
    for name, limit in limits.items():
        value = field.get(name, "")
        if not isinstance(value, str):
            problems.append(_("%(name)s must be text.") % {"name": name})
        elif len(value) > limit:
            problems.append(_("%(name)s is longer than %(max)d characters.") % {"name": name, "max": limit})
    if field.get("type") not in ("hidden", None) and not str(field.get("label", "")).strip():
        problems.append(_("the label is required."))
    if field.get("type") == "consent" and not str(field.get("wording", "")).strip():
        problems.append(_("the consent wording (the text shown next to the box) is required."))
    return problems


def _maps_to_problems(field: dict, custom_keys: set[str]) -> list[str]:
    kind, target = field["type"], field.get("maps_to", "")
    if not isinstance(target, str):
        return [_("maps_to must be text.")]
    if kind == "consent" and target:
        return [_("a consent box is not mapped to a lead field; it records a consent.")]
    if target == "email" and kind != "email" or kind == "email" and target not in ("email", ""):
        return [_("only an email field can be mapped to email, and an email field only to email or nothing.")]
    if kind == "checkboxes" and target and not target.startswith(CUSTOM_PREFIX):
        return [_("checkboxes can only be mapped to a custom field.")]
    if target.startswith(CUSTOM_PREFIX):
        if target.removeprefix(CUSTOM_PREFIX) not in custom_keys:
            return [_("maps_to '%(target)s' is not a custom field defined in the admin.") % {"target": target[:100]}]
    elif target not in ("", "email", *TEXT_FIELDS):
        return [
            _("maps_to '%(target)s' is not a lead field (use one of: %(names)s, custom:KEY, or nothing).")
            % {"target": target[:100], "names": ", ".join(["email", *TEXT_FIELDS])}
        ]
    return []


def _options_problems(field: dict) -> list[str]:
    options = field.get("options")
    if field["type"] not in CHOICE_TYPES:
        return [_("only select, radio and checkboxes fields have options.")] if options else []
    if not isinstance(options, list) or not options:
        return [_("a %(type)s field needs a list of options.") % {"type": field["type"]}]
    if len(options) > MAX_OPTIONS:
        return [_("at most %(max)d options.") % {"max": MAX_OPTIONS}]
    if not all(isinstance(option, str) and option.strip() and len(option) <= OPTION_MAX for option in options):
        return [_("every option must be non-empty text of at most %(max)d characters.") % {"max": OPTION_MAX}]
    if len(set(options)) != len(options):
        return [_("the options must be different from each other.")]
    return []


def _default_problems(field: dict) -> list[str]:
    kind, default = field["type"], field.get("default", "")
    if kind == "consent":
        return (
            [_("a consent box is never pre-checked: remove its default.")] if default not in ("", None, False) else []
        )
    if not default:
        return []
    if not isinstance(default, str) or len(default) > TEXT_MAX:
        return [_("default must be text of at most %(max)d characters.") % {"max": TEXT_MAX}]
    if kind in CHOICE_TYPES and default not in (field.get("options") or []):
        return [_("the default must be one of the options.")]
    return []


def _form_problems(fields: list[dict]) -> list[str]:
    problems = []
    keys = [field.get("key") for field in fields if isinstance(field.get("key"), str)]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        problems.append(_("Keys must be unique; repeated: %(keys)s.") % {"keys": ", ".join(duplicates)[:200]})
    targets = [field.get("maps_to") for field in fields if isinstance(field.get("maps_to"), str) and field["maps_to"]]
    twice = sorted({target for target in targets if targets.count(target) > 1})
    if twice:
        problems.append(_("Two fields fill the same lead field: %(names)s.") % {"names": ", ".join(twice)[:200]})
    emails = [field for field in fields if field.get("type") == "email" and field.get("maps_to") == "email"]
    if len(emails) != 1:
        problems.append(
            _("A form needs exactly one email field mapped to the lead's email (it has %(count)d).")
            % {"count": len(emails)}
        )
    elif not emails[0].get("required"):
        problems.append(_("The email field mapped to the lead's email must be required."))
    return problems


# --- Export and import -----------------------------------------------------------


def export_form(form: Form) -> dict[str, Any]:
    """The form's definition as JSON-ready data (not its asset file, submissions or published state)."""
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION} | {
        name: getattr(form, name) for name in EXPORTED_ATTRIBUTES
    }


@transaction.atomic
def import_form(data: object) -> Form:
    """A new, unpublished form from an exported definition; raises DefinitionError with every problem."""
    problems = _envelope_problems(data)
    if problems:
        raise DefinitionError(problems)
    form = Form(**{name: data[name] for name in EXPORTED_ATTRIBUTES if name in data}, published=False)
    problems = field_problems(form.fields) + _model_problems(form)
    if problems:
        raise DefinitionError(problems)
    form.save()
    return form


def _envelope_problems(data: object) -> list[str]:
    if not isinstance(data, dict):
        return [_("A form definition must be a JSON object.")]
    if data.get("format") != EXPORT_FORMAT or data.get("version") != EXPORT_VERSION:
        return [_("This is not a form definition exported by mautomation (format %(format)s, version %(version)d).")
                % {"format": EXPORT_FORMAT, "version": EXPORT_VERSION}]  # fmt: skip
    unknown = sorted(set(map(str, data)) - {"format", "version", *EXPORTED_ATTRIBUTES})
    if unknown:
        return [_("Unknown attributes: %(names)s.") % {"names": ", ".join(unknown)[:200]}]
    missing = [name for name in ("name", "slug", "fields") if name not in data]
    return [_("Missing attributes: %(names)s.") % {"names": ", ".join(missing)}] if missing else []


def _model_problems(form: Form) -> list[str]:
    """The model's own checks (slug format and uniqueness, URL, lengths, choices), as sentences."""
    try:
        form.full_clean(exclude=["fields"])
    except ValidationError as error:
        return [f"{name}: {message}" for name, messages in error.message_dict.items() for message in messages]
    except (TypeError, ValueError):  # e.g. a list where a number belongs
        return [_("An attribute has a value of the wrong type.")]
    return []
