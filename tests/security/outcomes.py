"""What a response means for access control: the words of the expected-outcome table."""

from django.http import HttpResponse
from django.test import Client

OK = "ok"  # 2xx (or 304): the page, file or JSON
LOGIN = "login"  # a redirect to a login page
MOVED = "moved"  # a redirect somewhere else (home to its start page, the admin's id-only URL to the change page)
DENIED = "403"
ABSENT = "404"
METHOD = "405"
UNAUTHORIZED = "401"
BAD = "400"
LOGIN_PATHS = ("/admin/login/", "/accounts/login/")


def outcome(response: HttpResponse) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return LOGIN if response["Location"].split("?")[0].endswith(LOGIN_PATHS) else MOVED
    if 200 <= status < 300 or status == 304:
        return OK
    return str(status)


def client_for(user) -> Client:
    """A browser in English (so messages are comparable) signed in as `user`, or anonymous for None."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client
