"""Stored-XSS payloads written into every text field of the world's objects, and how to spot one left live."""

from django.db import models

from landing.models import Form, LandingPage, Submission
from leads.models import Activity, Lead, Segment

PAYLOAD = "<script>x()</script>\"><img src=x onerror=x()></title></textarea>{{ 1234*5 }}{% now 'Y' %}"
# What a payload looks like when a page runs it: unescaped markup, or template syntax evaluated (1234*5).
LIVE = ("<script>x()", "<img src=x", "onerror=x()>", "6170")
SKIPPED_FIELDS = {"password", "key", "source", "email_key", "name_key", "domain", "stamp", "token", "slug"}
KINDS = (models.CharField, models.TextField)
# Template sources are code by design (tests/security/test_template_sandbox.py checks what they may do).
CODE_FIELDS = {"campaigns.emailtemplate": {"subject", "preheader", "html", "html_inlined", "text"}}
URLISH = (models.EmailField, models.URLField, models.SlugField, models.GenericIPAddressField)


def live_markers(html: str) -> list[str]:
    return [marker for marker in LIVE if marker in html]


def poison(world: dict) -> None:
    """Every free-text column of each world object, then the JSON that holds text (custom fields, blocks…)."""
    for key, pk in world.items():
        if "." not in key or key.startswith("contenttypes.") or not isinstance(pk, int):
            continue
        model = _model(key)
        fields = [field for field in _text_fields(model) if field.name not in CODE_FIELDS.get(key, ())]
        values = {field.name: PAYLOAD[: field.max_length] for field in fields}
        model._default_manager.filter(pk=pk).update(**values)
    _poison_json(world)


def _model(key: str) -> type[models.Model]:
    from django.apps import apps

    app_label, model = key.split(".")
    return apps.get_model(app_label, model)


def _text_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, KINDS) and not isinstance(field, URLISH) and not field.choices
        and not field.primary_key and field.name not in SKIPPED_FIELDS
    ]  # fmt: skip


def _poison_json(world: dict) -> None:
    Lead.objects.filter(pk=world["leads.lead"]).update(custom={"budget": PAYLOAD})
    form = Form.objects.get(pk=world["landing.form"])
    form.fields = [{**field, "label": PAYLOAD, "help": PAYLOAD, "placeholder": PAYLOAD} for field in form.fields]
    form.save(update_fields=["fields"])
    Submission.objects.filter(pk=world["landing.submission"]).update(data={"email": PAYLOAD, "company": PAYLOAD})
    Activity.objects.filter(pk=world["leads.activity"]).update(data={"title": PAYLOAD}, url=PAYLOAD[:200])
    Segment.objects.filter(pk=world["leads.segment"]).update(
        conditions=[{"field": "title", "op": "contains", "value": PAYLOAD}]
    )
    page = LandingPage.objects.get(pk=world["landing.landingpage"])
    page.draft_blocks = [
        {"type": "hero", "title": PAYLOAD, "text": PAYLOAD, "button_text": PAYLOAD, "button_url": "/"},
        {"type": "features", "title": PAYLOAD, "items": [{"title": PAYLOAD, "text": PAYLOAD}]},
        {"type": "testimonial", "quote": PAYLOAD, "name": PAYLOAD, "company": PAYLOAD},
        {"type": "form", "form": form.slug},
    ]
    page.publish()
