"""CSRF: every state-changing request without a token is refused, but the listed exemptions, each with its guard."""

import base64
import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from campaigns import tracking
from landing.models import Submission
from leads.models import Activity, Lead
from tests.factories import make_send, make_user
from tests.landing.form_helpers import aged_token, make_form
from tests.security import routes, world

pytestmark = pytest.mark.django_db

METHODS = ("post", "put", "patch", "delete")
# Route (or route prefix ending in "/") -> why it takes posts without a CSRF token; each is tested below.
CSRF_EXEMPT = {
    "e/u/<str:token>/one-click": "RFC 8058: the mail provider posts without cookies; the signed token is the authority",
    "t/pv": "track.js beacon from the marketer's site: it only adds an anonymous page view, never acts for a user",
    "anymail/": "ESP webhooks: no browser session; HTTP basic auth with ANYMAIL_WEBHOOK_SECRET (404 without it)",
    "f/<slug:slug>/": "embedded forms post cross-site: allowed origins and the signed form token; hosted posts are "
    "still CSRF-checked inside the view",
}
# The API (csrf-exempt at Django's level) checks CSRF itself for session users; token users need none:
# test_api_with_a_token_needs_no_csrf_token_and_without_one_is_401 shows both.


def exempt(route: str) -> bool:
    return any(route == key or (key.endswith("/") and route.startswith(key)) for key in CSRF_EXEMPT)


def refused_for_csrf(response) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


@pytest.mark.parametrize("role", ["superuser", "anonymous"])
def test_every_state_changing_request_without_a_csrf_token_is_refused(role):
    people = world.users()
    objects = world.build(people)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    if people[role]:
        client.force_login(people[role])
    wrong = []
    for route in (route for route in routes.all_routes() if not exempt(route.route)):
        for method in METHODS:
            response = getattr(client, method)(route.url(objects), {} if method == "post" else "")
            anonymous_api = (
                role == "anonymous" and route.route.startswith("api/") and response.status_code in (401, 405)
            )
            if not (refused_for_csrf(response) or anonymous_api):
                wrong.append(f"{method.upper()} {route.route}: {response.status_code}")
    assert wrong == []


def test_the_exemptions_name_existing_routes():
    found = [route.route for route in routes.all_routes()]
    for key in CSRF_EXEMPT:
        assert any(route == key or (key.endswith("/") and route.startswith(key)) for route in found), key


def test_one_click_unsubscribe_takes_only_a_genuine_token_and_the_rfc_body():
    send = make_send()
    token = tracking.unsubscribe_url(send.pk).rsplit("/e/u/", 1)[1]
    client = Client(enforce_csrf_checks=True)
    body = {"List-Unsubscribe": "One-Click"}
    assert client.post(f"/e/u/{token[:-2]}xx/one-click", body).status_code == 404
    assert client.post(f"/e/u/{token}/one-click", {"List-Unsubscribe": "yes"}).status_code == 400
    assert Lead.objects.get(pk=send.lead_id).email_status == Lead.EmailStatus.OK
    assert client.post(f"/e/u/{token}/one-click", body).status_code == 200
    assert Lead.objects.get(pk=send.lead_id).email_status == Lead.EmailStatus.UNSUBSCRIBED


def test_the_tracking_beacon_from_a_signed_in_browser_records_only_an_anonymous_page_view():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("root", superuser=True))
    view = {"visitor_id": "0123456789abcdef0123456789abcdef", "url": "https://www.example.com/pricing/"}
    response = client.post("/t/pv", json.dumps(view), content_type="text/plain", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 204
    assert list(Activity.objects.values_list("kind", "lead_id")) == [(Activity.Kind.PAGE_VIEW, None)]
    assert "Access-Control-Allow-Origin" not in response
    assert client.post("/t/pv", "x" * 100_000, content_type="text/plain").status_code == 413


@pytest.mark.parametrize(
    ("secret", "sent", "refused"),
    [("", "", 404), ("user:s3cret", "", 400), ("user:s3cret", "user:wrong", 400)],
)
def test_esp_webhooks_need_the_configured_basic_auth(settings, secret, sent, refused):
    settings.ANYMAIL = {"WEBHOOK_SECRET": secret} if secret else {}
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(sent.encode()).decode()} if sent else {}
    body = json.dumps({"RecordType": "Bounce", "ID": 1, "MessageID": "x", "Type": "HardBounce"})
    response = Client(enforce_csrf_checks=True).post(
        "/anymail/postmark/tracking/", body, content_type="application/json", **headers
    )
    assert response.status_code == refused


def test_hosted_form_posts_still_need_the_csrf_token():
    form = make_form()
    response = Client(enforce_csrf_checks=True).post(f"/f/{form.slug}/", {"_token": aged_token(form)})
    assert refused_for_csrf(response)
    assert not Submission.objects.exists()


def test_embedded_form_posts_need_an_allowed_origin_and_the_signed_form_token():
    form = make_form(allowed_origins="https://www.example.co.jp")
    client = Client(enforce_csrf_checks=True)
    data = {"email": "taro@example.co.jp", "consent": "on"}
    evil = client.post(f"/f/{form.slug}/", {**data, "_token": aged_token(form)}, HTTP_ORIGIN="https://evil.example")
    unsigned = client.post(f"/f/{form.slug}/?embed=1", data, HTTP_ORIGIN="https://www.example.co.jp")
    assert (evil.status_code, unsigned.status_code) == (403, 403)
    assert not Submission.objects.exists()


def test_api_with_a_token_needs_no_csrf_token_and_without_one_is_401():
    token = Token.objects.create(user=make_user("root", superuser=True))
    client = Client(enforce_csrf_checks=True)
    body = json.dumps({"email": "api@example.co.jp"})
    assert client.post("/api/v1/leads/", body, content_type="application/json").status_code == 401
    response = client.post(
        "/api/v1/leads/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 201
