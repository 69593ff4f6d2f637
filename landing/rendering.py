"""Render a landing page's blocks to HTML with Django templates (autoescape on).

Every value is escaped by the templates; URLs are checked again here, so a
block stored before a rule tightened still cannot link to javascript:. Only
the html block, which the builder accepts from superusers alone, is output raw.
"""

from urllib.parse import urlencode

from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from landing.builder import BLOCK_TYPES, Prop, form_slugs, is_safe_url
from landing.models import Form, LandingPage
from leads.tracking import UTM_KEYS

FORM_PARTIAL = "landing/_form.html"


def published_forms(blocks: list) -> dict[str, Form]:
    """The published forms the blocks show, by slug, in one query (none when there is no form block)."""
    slugs = form_slugs(blocks)
    return {form.slug: form for form in Form.objects.filter(slug__in=slugs, published=True)} if slugs else {}


def render_blocks(
    blocks: list, *, forms: dict[str, Form], request: HttpRequest | None = None, marked: dict | None = None
) -> SafeString:
    """The blocks' HTML. Form blocks carry the visit's details: those of `request`, or with `marked` (no
    request) the markers landing/page_cache.py fills in per visitor: csrf_token, page_url, referrer, query
    and form_tokens by form slug."""
    has_partial = _form_partial_exists()
    parts = [
        _render_block(block, forms=forms, has_partial=has_partial, request=request, marked=marked)
        for block in blocks
        if isinstance(block, dict) and block.get("type") in BLOCK_TYPES
    ]
    return mark_safe("\n".join(parts))  # each part is a rendered, autoescaped template


def _render_block(
    block: dict, *, forms: dict[str, Form], has_partial: bool, request: HttpRequest | None, marked: dict | None
) -> str:
    kind = block["type"]
    context = {"block": safe_props(block, BLOCK_TYPES[kind]), "kind": kind}
    if kind == "form":
        form = forms.get(block.get("form"))
        context.update(form=form, has_partial=has_partial, **_visit(form, request, marked))
    if kind == "html":
        context["raw_html"] = mark_safe(block.get("html", ""))  # only superusers may save an html block
    return render_to_string(f"landing/blocks/{kind}.html", context, request=request)


def _visit(form: Form | None, request: HttpRequest | None, marked: dict | None) -> dict:
    """What a form block posts along about the visit, and where it posts."""
    if form is None:
        return {"action": ""}
    if marked is not None:
        return {"action": form.get_absolute_url() + marked["query"], "csrf_token": marked["csrf_token"],
                "form_token": marked["form_tokens"][form.slug], "page_url": marked["page_url"],
                "referrer": marked["referrer"]}  # fmt: skip
    return {"action": form_action(form, request), "page_url": request.build_absolute_uri() if request else "",
            "referrer": request.META.get("HTTP_REFERER", "") if request else ""}  # fmt: skip


def form_action(form: Form, request: HttpRequest | None) -> str:
    """The form's URL, carrying the page's UTM parameters: the submission reads them from its own query."""
    utm = {key: request.GET[key] for key in UTM_KEYS if request and request.GET.get(key)}
    return form.get_absolute_url() + (f"?{urlencode(utm)}" if utm else "")


def safe_props(values: dict, props: dict[str, Prop]) -> dict:
    """The block's values with every unsafe URL blanked (defence in depth: the builder refuses them)."""
    cleaned = {}
    for name, prop in props.items():
        value = values.get(name)
        if prop.kind == "url":
            value = value if isinstance(value, str) and is_safe_url(value) else ""
        elif prop.kind == "items":
            item_props = dict(prop.item_props)
            value = [safe_props(item, item_props) for item in value or [] if isinstance(item, dict)]
        cleaned[name] = value
    return cleaned


def _form_partial_exists() -> bool:
    """The form partial belongs to the submission backend; until it exists, a form block links to /f/<slug>/."""
    try:
        get_template(FORM_PARTIAL)
    except TemplateDoesNotExist:
        return False
    return True


def page_context(page: LandingPage, blocks: list, *, request: HttpRequest | None = None) -> dict:
    return {"page": page, "content": render_blocks(blocks, forms=published_forms(blocks), request=request)}
