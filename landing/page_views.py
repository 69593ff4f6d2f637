"""Hosted landing pages: /p/<slug>/ shows the published version, /p/<slug>/preview/ the draft to staff."""

import hashlib

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from landing import page_cache
from landing.models import LandingPage
from landing.rendering import page_context

PUBLIC_MAX_AGE = 60
PREVIEW_PERMISSIONS = ("landing.view_landingpage", "landing.change_landingpage")


@require_GET
def page(request: HttpRequest, slug: str) -> HttpResponse:
    version = page_cache.published(slug)
    rendered = page_cache.page_html(request, version, {"tracking_endpoint": _tracking_endpoint()})
    has_form = rendered.has_form_block
    etag = quote_etag(f"{version.pk}-{hashlib.sha256(version.stamp.encode()).hexdigest()[:20]}")
    not_modified = None if has_form else get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = HttpResponse(rendered.html)
    if has_form:
        # A form carries the visitor's own CSRF token and the form's current fields: never a shared copy.
        patch_cache_control(response, private=True, max_age=0)
    else:
        response["ETag"] = etag
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    return response


@require_GET
@never_cache
@xframe_options_sameorigin  # the page builder shows it in an iframe
@login_required
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    if not (request.user.is_staff and any(request.user.has_perm(perm) for perm in PREVIEW_PERMISSIONS)):
        raise PermissionDenied
    landing = LandingPage.objects.filter(slug=slug).first()
    if landing is None:
        raise Http404
    context = {**page_context(landing, landing.draft_blocks, request=request), "preview": True}
    return render(request, "landing/page.html", context)


def _tracking_endpoint() -> str:
    """track.js appends "pv" to its data-endpoint."""
    return reverse("tracking:page-view").removesuffix("pv")
