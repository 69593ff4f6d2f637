"""The admin refuses a NUL character anywhere in its query string, with a 400 that says so.

Django's admin passes search terms and filter values to the database as they come.
No stored text holds a NUL (PostgreSQL cannot store one; our forms, imports and API
refuse it), yet the two databases disagree about it: PostgreSQL refuses to compare
with it (a 500 from any filter), SQLite's LIKE stops at it (a search for it matches
every row). Refusing it before the admin sees it answers the same on both.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils.translation import gettext as _


class AdminNulQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if holds_nul(request) and request.path_info.startswith(reverse("admin:index")):
            message = _("The address holds a NUL character, which no search or filter can match.")
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def holds_nul(request: HttpRequest) -> bool:
    # The raw query first: this runs on every request, the public pages' too.
    raw = request.META.get("QUERY_STRING", "")
    if "%00" not in raw and "\x00" not in raw:
        return False
    return any("\x00" in name or "\x00" in "".join(values) for name, values in request.GET.lists())
