"""The public endpoints behind links in emails: open pixel, click redirect, unsubscribe.

A token that is not genuine (tampered, truncated, made for another purpose or
another link) gets a plain 404, never a redirect and never an error page.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns import events, machines, tracking
from leads.models import Lead
from leads.tracking import IDENTITY_PARAM, identity_token, ip_bucket
from leads.views import PIXEL, client_ip
from mautomation.lib import ratelimit

log = logging.getLogger(__name__)
UNSUBSCRIBE_LIMIT = 30  # per client network and minute: a person needs one or two
BAD_TOKEN_LIMIT = 120  # per client network and minute, before even checking more tokens


@never_cache
@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    hit = tracking.read_open(token)
    if hit is None:
        return _not_found(request)
    reason = machines.open_reason(_machine_request(request, hit))
    events.record_open(hit=hit, data=machines.flag(reason))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    target = request.GET.get("u", "")
    hit = tracking.read_click(token, target)
    if hit is None:
        return _not_found(request)
    reason = machines.click_reason(_machine_request(request, hit))
    lead_id = events.record_click(hit=hit, url=target, data=machines.flag(reason))
    if lead_id is not None and reason is None:  # a scanner must not carry the person's identity to the site
        target = tracking.add_utm(target, {IDENTITY_PARAM: identity_token(lead_id)})
    return HttpResponseRedirect(target)


def _machine_request(request: HttpRequest, hit: tracking.Hit) -> machines.Request:
    return machines.Request(
        method=request.method,
        user_agent=request.headers.get("User-Agent", "")[:500],
        client_ip=client_ip(request),
        seconds_since_send=hit.seconds_since_send(),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (link scanners follow links); the page's POST, with its CSRF token, unsubscribes."""
    send_id, refused = _unsubscribe_send(request, token)
    if refused:
        return refused
    lead = events.unsubscribe(send_id=send_id, via="page") if request.method == "POST" else _lead_of(send_id)
    if lead is None:
        return _plain(_("This link is not valid."), status=404)
    done = request.method == "POST" or lead.email_status != Lead.EmailStatus.OK
    return render(request, "campaigns/unsubscribe.html", {"lead": lead, "done": done, "token": token})


@csrf_exempt  # RFC 8058: the mail provider POSTs without cookies; the signed token is the authority
@never_cache
@require_http_methods(["GET", "POST"])
def one_click_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":  # a client that opens the header's link in a browser: ask, as the footer does
        return unsubscribe(request, token)
    send_id, refused = _unsubscribe_send(request, token)
    if refused:
        return refused
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return _plain(_("Expected the body List-Unsubscribe=One-Click (RFC 8058)."), status=400)
    if events.unsubscribe(send_id=send_id, via="one-click") is None:
        return _plain(_("This link is not valid."), status=404)
    return _plain(_("You have been unsubscribed."))


def _unsubscribe_send(request: HttpRequest, token: str) -> tuple[int, HttpResponse | None]:
    """The token's send id, or the answer refusing the request (over the rate limit, not a genuine token)."""
    if ratelimit.hit(f"e:u:{ip_bucket(client_ip(request))}") > UNSUBSCRIBE_LIMIT:
        return 0, _plain(_("Too many requests; try again in a minute."), status=429)
    send_id = tracking.read_unsubscribe(token)
    if send_id is None:
        return 0, _plain(_("This link is not valid."), status=404)
    return send_id, None


def _lead_of(send_id: int) -> Lead | None:
    return Lead.objects.filter(sends__pk=send_id).first()


def _not_found(request: HttpRequest) -> HttpResponse:
    """Counts bad tokens per network, so guessing costs a round trip to the cache only when it is wrong."""
    if ratelimit.hit(f"e:bad:{ip_bucket(client_ip(request))}") > BAD_TOKEN_LIMIT:
        return _plain(_("Too many requests; try again in a minute."), status=429)
    return _plain(_("This link is not valid."), status=404)


def require_webhook_secret(view: Callable) -> Callable:
    """Without ANYMAIL_WEBHOOK_SECRET anymail accepts anyone's posts (with a warning): refuse them instead."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
            return _plain(_("The email service webhooks are off: set ANYMAIL_WEBHOOK_SECRET."), status=404)
        try:
            return view(request, *args, **kwargs)
        except ImproperlyConfigured:  # another ESP's webhook, whose keys (e.g. a signing key) are not set
            return _plain(_("This email service is not configured."), status=404)
        except (ValueError, TypeError, KeyError, AttributeError):  # anymail parsing a malformed body
            log.warning("malformed %s webhook post", request.path, exc_info=True)
            return _plain(_("The body is not an event this email service sends."), status=400)

    return guarded


def _plain(text: str, *, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
