"""The public tracking endpoints that leads/static/leads/track.js calls from the marketer's site."""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from leads import tracking

# The smallest transparent 1x1 GIF: what the image fallback of the snippet loads.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@csrf_exempt  # a cross-origin beacon; it can only add an anonymous page view, never act for a user
@never_cache
@require_http_methods(["POST", "OPTIONS"])
def page_view(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204))
    body = request.read(tracking.BODY_MAX + 1)
    if len(body) > tracking.BODY_MAX:
        status, reason = 413, _("the body is larger than %(max)d bytes") % {"max": tracking.BODY_MAX}
    else:
        status, reason = _track(request, _json_object(body))
    response = HttpResponse(status=204) if status == 204 else _text(status, reason)
    return _cors(request, response)


@never_cache
@require_GET
def page_view_pixel(request: HttpRequest) -> HttpResponse:
    """The image fallback: the same page view in the query string; always answers with the GIF."""
    status, _reason = _track(request, request.GET.dict())
    return HttpResponse(PIXEL, content_type="image/gif", status=200 if status == 204 else status)


def _track(request: HttpRequest, raw: dict | None) -> tuple[int, str]:
    if raw is None:
        return 400, _("the body is not a JSON object")
    view, reason = tracking.clean_page_view(raw)
    if view is None:
        return 400, reason
    if tracking.over_limit(visitor_id=view.visitor_id, client_ip=client_ip(request)):
        return 429, _("too many page views; try again in a minute")
    if view.identity:  # first, so this very view is already the lead's
        tracking.identify_by_link(visitor_id=view.visitor_id, token=view.identity)
    tracking.record_page_view(
        visitor_id=view.visitor_id, url=view.url, referrer=view.referrer, title=view.title, utm=view.utm
    )
    return 204, ""


def _json_object(body: bytes) -> dict | None:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # malformed, not UTF-8, or nested deeper than the parser goes
        return None
    return parsed if isinstance(parsed, dict) else None


def client_ip(request: HttpRequest) -> str:
    """The address the rate limit counts; behind our TLS proxy, the one it appended to X-Forwarded-For."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _text(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


def _cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let the marketer's own sites read the answer; a text/plain beacon needs no preflight at all."""
    origin = request.headers.get("Origin", "")
    if tracking.allowed_origin(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
    patch_vary_headers(response, ["Origin"])
    return response
