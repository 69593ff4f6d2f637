"""The server side of the page builder: what a landing page's blocks may hold.

The admin's JavaScript builder only helps; every save goes through
block_problems(), which names each problem precisely (block number, type,
property) so the marketer can fix it. URLs must be http(s) or relative, so no
javascript: link is ever stored, and raw HTML is a superuser's privilege.
"""

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from landing.models import Form

MAX_BLOCKS = 100
MAX_BYTES = 256 * 1024
MAX_ITEMS = 24
TEXT_MAX = 5000
LINE_MAX = 300


@dataclass(frozen=True)
class Prop:
    kind: str  # "line", "text", "url", "slug", "html" or "items"
    required: bool = False
    item_props: tuple[tuple[str, "Prop"], ...] = ()
    min_items: int = 0
    max_items: int = MAX_ITEMS


_TITLE_TEXT = (("title", Prop("line", required=True)), ("text", Prop("text")))

BLOCK_TYPES: dict[str, dict[str, Prop]] = {
    "hero": {
        "title": Prop("line", required=True),
        "text": Prop("text"),
        "image_url": Prop("url"),
        "button_text": Prop("line"),
        "button_url": Prop("url"),
    },
    "text": {"text": Prop("text", required=True)},
    "image": {"url": Prop("url", required=True), "alt": Prop("line")},
    "cta": {"text": Prop("line", required=True), "url": Prop("url", required=True)},
    "form": {"form": Prop("slug", required=True)},
    "features": {"title": Prop("line"), "items": Prop("items", required=True, item_props=_TITLE_TEXT, min_items=1)},
    "testimonial": {"quote": Prop("text", required=True), "name": Prop("line"), "company": Prop("line")},
    "logos": {
        "title": Prop("line"),
        "images": Prop(
            "items",
            required=True,
            item_props=(("url", Prop("url", required=True)), ("alt", Prop("line"))),
            min_items=1,
        ),
    },
    "columns": {"columns": Prop("items", required=True, item_props=_TITLE_TEXT, min_items=2, max_items=3)},
    "html": {"html": Prop("html", required=True)},
}


def is_safe_url(url: str) -> bool:
    """http(s), a path on this site, or an anchor: never javascript:, data: or a scheme-relative //host."""
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        return False
    if url.startswith("#") or (url.startswith("/") and not url.startswith("//")):
        return True
    parts = urlsplit(url)
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def payload_problem(raw: str) -> str | None:
    """Refuse a huge payload before parsing it."""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return _("The page is too large: at most %(kb)d KB of blocks.") % {"kb": MAX_BYTES // 1024}
    return None


def block_problems(blocks: object, *, user, previous: list | None = None) -> list[str]:
    """Every problem with these blocks, as messages for the marketer; [] when they may be saved.

    An html block is accepted from a non-superuser only when it is unchanged
    from `previous` (a superuser wrote it), so others can still edit the page.
    """
    if not isinstance(blocks, list):
        return [_("The blocks must be a list.")]
    if len(blocks) > MAX_BLOCKS:
        return [_("Too many blocks: %(count)d (at most %(max)d).") % {"count": len(blocks), "max": MAX_BLOCKS}]
    size_problem = payload_problem(json.dumps(blocks, ensure_ascii=False))
    if size_problem:
        return [size_problem]
    trusted_html = {json.dumps(block, sort_keys=True) for block in previous or [] if _is_html(block)}
    problems: list[str] = []
    for number, block in enumerate(blocks, start=1):
        problems += _block_problems(number, block, user=user, trusted_html=trusted_html)
    return problems


def _is_html(block: object) -> bool:
    return isinstance(block, dict) and block.get("type") == "html"


def _block_problems(number: int, block: object, *, user, trusted_html: set[str]) -> list[str]:
    if not isinstance(block, dict):
        return [_("Block %(n)d is not an object.") % {"n": number}]
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [_("Block %(n)d: unknown type “%(type)s”.") % {"n": number, "type": str(kind)[:40]}]
    where = _("Block %(n)d (%(type)s)") % {"n": number, "type": kind}
    superuser = getattr(user, "is_superuser", False)
    if kind == "html" and not superuser and json.dumps(block, sort_keys=True) not in trusted_html:
        return [_("%(where)s: only a superuser may add or change raw HTML.") % {"where": where}]
    unknown = sorted(set(block) - set(BLOCK_TYPES[kind]) - {"type"})
    if unknown:
        return [_("%(where)s: unknown property “%(name)s”.") % {"where": where, "name": str(unknown[0])[:40]}]
    return _props_problems(where, block, BLOCK_TYPES[kind])


def _props_problems(where: str, values: dict, props: dict[str, Prop]) -> list[str]:
    problems = []
    for name, prop in props.items():
        problem = _value_problem(values.get(name), prop)
        if problem:
            problems.append(f"{where}: {name}: {problem}")
    return problems


def _value_problem(value: object, prop: Prop) -> str | None:
    if value in (None, "", []):
        return _("this is required.") if prop.required else None
    if prop.kind == "items":
        return _items_problem(value, prop)
    if not isinstance(value, str):
        return _("must be text.")
    limit = {"line": LINE_MAX, "url": 2000, "slug": 50}.get(prop.kind, TEXT_MAX if prop.kind == "text" else MAX_BYTES)
    if len(value) > limit:
        return _("at most %(max)d characters.") % {"max": limit}
    if prop.kind == "url" and not is_safe_url(value):
        return _("must be an http(s) URL or a path starting with /.")
    return None


def _items_problem(value: object, prop: Prop) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return _("must be a list of items.")
    if not prop.min_items <= len(value) <= prop.max_items:
        return _("needs %(min)d to %(max)d items.") % {"min": prop.min_items, "max": prop.max_items}
    item_props = dict(prop.item_props)
    for index, item in enumerate(value, start=1):
        unknown = sorted(set(item) - set(item_props))
        if unknown:
            return _("item %(i)d: unknown property “%(name)s”.") % {"i": index, "name": str(unknown[0])[:40]}
        for name, item_prop in item_props.items():
            problem = _value_problem(item.get(name), item_prop)
            if problem:
                return _("item %(i)d: %(name)s: %(problem)s") % {"i": index, "name": name, "problem": problem}
    return None


def form_slugs(blocks: object) -> list[str]:
    """The slugs of the forms these blocks show."""
    return [block["form"] for block in blocks if _is_form(block)] if isinstance(blocks, list) else []


def missing_form_problems(blocks: list, published_slugs: set[str]) -> list[str]:
    """A form block must point at a published form."""
    return [
        _("Block %(n)d (form): no published form “%(slug)s”.") % {"n": number, "slug": block["form"]}
        for number, block in enumerate(blocks, start=1)
        if _is_form(block) and block.get("form") not in published_slugs
    ]


def _is_form(block: object) -> bool:
    return isinstance(block, dict) and block.get("type") == "form" and isinstance(block.get("form"), str)


def page_block_problems(blocks: object, *, user, previous: list | None = None) -> list[str]:
    """block_problems(), then the one check that needs the database: each form block's form is published."""
    problems = block_problems(blocks, user=user, previous=previous)
    slugs = [] if problems else form_slugs(blocks)
    if not slugs:
        return problems
    published = set(Form.objects.filter(slug__in=slugs, published=True).values_list("slug", flat=True))
    return missing_form_problems(blocks, published)
