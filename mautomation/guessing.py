"""Limits on guessing credentials: passwords at the two login pages, tokens at the API.

Each client network (leads.tracking.ip_bucket: one IPv4 address, an IPv6 /64) and
each username get a few failed sign-ins a minute; past that the login pages
answer 429 before checking the password. Only failures count: an office behind
one NAT address may see many colleagues sign in at nine o'clock. A wrong API token counts against the
network; past the limit every token from it is refused with 429 before it is
looked up, so guessing learns nothing more that minute.
"""

import hashlib
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from leads.tracking import ip_bucket
from leads.views import client_ip
from mautomation.lib import ratelimit

LOGIN_PER_NETWORK = 10  # sign-in attempts a minute; a person mistypes two or three times
LOGIN_PER_USERNAME = 20  # higher: an attacker could otherwise lock a colleague out from one address
BAD_TOKENS_PER_NETWORK = 20


class LoginRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signing_in = request.method == "POST" and request.path_info in (reverse("login"), reverse("admin:login"))
        if not signing_in:
            return self.get_response(request)
        counters = login_counters(request)
        if login_over_limit(counters):
            return too_many(_("Too many sign-in attempts; try again in a minute."))
        response = self.get_response(request)
        if response.status_code == 200:  # the form shown again: a failed sign-in (success redirects)
            ratelimit.hit_all(counters)
        return response


def login_counters(request: HttpRequest) -> list[str]:
    """The network's and the username's counters of failed sign-ins."""
    username = request.POST.get("username", "")[:150].strip().lower()
    name = hashlib.sha256(username.encode(errors="replace")).hexdigest()[:24]
    return [f"login:ip:{ip_bucket(client_ip(request))}", f"login:u:{name}"]


def login_over_limit(counters: list[str]) -> bool:
    per_network, per_name = (ratelimit.count(counter) for counter in counters)
    return per_network >= LOGIN_PER_NETWORK or per_name >= LOGIN_PER_USERNAME


def too_many(message: str) -> HttpResponse:
    response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
    return response


class LimitedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, with wrong tokens counted per network (DRF throttles only after authenticating)."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        counter = f"api:badtoken:{ip_bucket(client_ip(request))}"
        if ratelimit.count(counter) >= BAD_TOKENS_PER_NETWORK:
            raise exceptions.Throttled(wait=ratelimit.WINDOW_SECONDS)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            ratelimit.hit(counter)
            raise
