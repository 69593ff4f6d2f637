"""Template helpers for templates/landing/_form.html, so the page renderer can include it with just `form`."""

from django import template

from landing.models import Form
from landing.submitting import issue_token

register = template.Library()


@register.simple_tag
def form_token(form: Form) -> str:
    """A fresh signed token: the minimum-fill-time clock and the nonce of embedded posts."""
    return issue_token(form)


@register.simple_tag
def form_rows(form: Form, values: dict | None = None, errors: dict | None = None) -> list[dict]:
    """One row per visible field with what the template needs; hidden fields are filled in by the server."""
    values, errors = values or {}, errors or {}
    return [
        _row(spec, values.get(spec["key"]), errors.get(spec["key"], []))
        for spec in form.fields
        if spec["type"] != "hidden"
    ]


def _row(spec: dict, value: object, errors: list[str]) -> dict:
    chosen = value if isinstance(value, list) else [] if value in (None, "", False) else [str(value)]
    text = "" if value in (None, True, False) or isinstance(value, list) else str(value)
    if spec["type"] in ("select", "radio") and not chosen and spec.get("default"):
        chosen = [spec["default"]]
    elif spec["type"] not in ("consent", "checkboxes") and value is None:
        text = spec.get("default", "")
    return {
        "spec": spec,
        "id": f"f-{spec['key']}",
        "value": text,
        "checked": value is True,  # a consent box is ticked only by the visitor, never by default
        "options": [(option, option in chosen) for option in spec.get("options", [])],
        "errors": errors,
        "max_length": spec.get("max_length"),
    }
