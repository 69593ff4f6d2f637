"""Published landing pages rendered once per version, filled in per request.

A published page is the same for every visitor but for its form blocks: the visitor's
CSRF token, the signed form token (its issue time is the minimum-fill clock), and the
page's own URL, referrer and UTM parameters posted along. So the page is rendered with
markers in those places and kept in this process, keyed by all it depends on (the
page's and the forms' versions, the language, the scheme and host); a request swaps
the markers for its own escaped values. The versions themselves (one query) are read
at most once per VERSION_TTL seconds per page and process, so a publish, a form edit or
a form deletion shows within that time in every process, and at once in the process
that saved it (the signals below, connected in LandingConfig.ready).
"""

import time
from collections import OrderedDict
from typing import NamedTuple
from urllib.parse import urlencode

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import get_language

from landing.builder import form_slugs
from landing.models import Form, LandingPage
from landing.rendering import published_forms, render_blocks
from landing.submitting import issue_token
from leads.tracking import UTM_KEYS
from mautomation.lib import csrf_tokens

CSRF, PAGE, REFERRER, QUERY = "mauto-mark-csrf", "mauto-mark-page", "mauto-mark-ref", "mauto-mark-query"
TOKEN = "mauto-mark-token-{}"  # per form, by pk
KEPT = 200  # pages (versions × languages × hosts) kept per process
VERSION_TTL = 2.0  # seconds a publish or a form edit may take to reach the other processes
_VERSION_SQL = (
    "SELECT id, published_at, updated_at, (SELECT COUNT(*) FROM landing_form), (SELECT MAX(updated_at) FROM"
    " landing_form) FROM landing_landingpage WHERE slug = %s AND published_at IS NOT NULL"
)


class Rendered(NamedTuple):
    html: str  # with markers, until filled in
    forms: list[Form]  # the published forms it shows
    has_form_block: bool  # even one whose form is gone: its page is then never shared by caches


_rendered: OrderedDict[tuple, Rendered] = OrderedDict()


class Version(NamedTuple):
    pk: int
    stamp: str  # the page's publish and update times and the forms' version: what its HTML depends on


_versions: dict[str, tuple[float, Version | None]] = {}


def published(slug: str) -> Version:
    """The published page's version, read at most once per VERSION_TTL; Http404 when there is none."""
    now = time.monotonic()
    found = _versions.get(slug)
    if found is None or now - found[0] > VERSION_TTL:
        if len(_versions) >= KEPT:
            _versions.clear()
        found = _versions[slug] = (now, _read_version(slug))
    if found[1] is None:
        raise Http404("no published page with this slug")
    return found[1]


def _read_version(slug: str) -> Version | None:
    """One plain query (the ORM's compile costs more than the query)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL, [slug])
        row = cursor.fetchone()
    return None if row is None else Version(row[0], "|".join(map(str, row[1:])))


@receiver(post_save, sender=LandingPage, dispatch_uid="landing.page_cache.page-saved")
@receiver(post_delete, sender=LandingPage, dispatch_uid="landing.page_cache.page-deleted")
@receiver(post_save, sender=Form, dispatch_uid="landing.page_cache.form-saved")
@receiver(post_delete, sender=Form, dispatch_uid="landing.page_cache.form-deleted")
def forget_versions(**kwargs) -> None:
    """A page or a form changed in this process: read the versions again on the next visit."""
    _versions.clear()


def clear() -> None:
    """Forget every version and rendering (tests: a rolled-back database reuses ids and slugs)."""
    _versions.clear()
    _rendered.clear()


def page_html(request: HttpRequest, version: Version, context: dict) -> Rendered:
    """The page for this request: rendered on the first visit of its version, then filled in."""
    key = (version, get_language(), request.scheme, request.get_host())
    if (found := _rendered.get(key)) is None:
        found = _rendered[key] = _render(request, LandingPage.objects.get(pk=version.pk), context)
        while len(_rendered) > KEPT:
            _rendered.popitem(last=False)
    return found._replace(html=_fill(found.html, request, found.forms))


def _render(request: HttpRequest, landing: LandingPage, context: dict) -> Rendered:
    forms = published_forms(landing.blocks)
    marked = {"csrf_token": CSRF, "page_url": PAGE, "referrer": REFERRER, "query": QUERY,
              "form_tokens": {form.slug: TOKEN.format(form.pk) for form in forms.values()}}  # fmt: skip
    content = render_blocks(landing.blocks, forms=forms, marked=marked)
    html = render_to_string("landing/page.html", {**context, "page": landing, "content": content}, request)
    return Rendered(html, list(forms.values()), bool(form_slugs(landing.blocks)))


def _fill(html: str, request: HttpRequest, forms: list[Form]) -> str:
    if not forms:
        return html
    utm = {key: request.GET[key] for key in UTM_KEYS if request.GET.get(key)}
    values = {
        CSRF: csrf_tokens.form_token(request),  # what get_token() gives, at a fraction of its cost
        PAGE: escape(request.build_absolute_uri()),
        REFERRER: escape(request.META.get("HTTP_REFERER", "")),
        QUERY: escape(f"?{urlencode(utm)}" if utm else ""),
        **{TOKEN.format(form.pk): issue_token(form) for form in forms},
    }
    for marker, value in values.items():
        html = html.replace(marker, value)
    return html
