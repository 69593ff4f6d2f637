"""Every public endpoint has a limit that is reached and answered 429, or a designed answer that costs nothing."""

import json

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from campaigns import tracking
from leads.models import Activity
from mautomation import guessing
from tests.campaigns.tracking_helpers import CHROME, click_paths, personalized, pixel_path, sent_ago
from tests.factories import make_send, make_user
from tests.landing.form_helpers import aged_token, make_form
from tests.landing.page_helpers import hero, make_page

pytestmark = pytest.mark.django_db

VID = "0123456789abcdef0123456789abcdef"


def statuses(send, times: int) -> list[int]:
    return [send().status_code for _ in range(times)]


def first_429(answers: list[int]) -> int:
    """How many requests got through before the first 429 (all of them after it must be 429 too)."""
    at = answers.index(429)
    assert set(answers[at:]) == {429}
    return at


def test_form_posts_from_one_network_are_limited(settings):
    settings.FORM_RATE_LIMIT_PER_MINUTE = 5
    form, client = make_form(), Client()
    answers = statuses(lambda: client.post(f"/f/{form.slug}/", {"_token": aged_token(form), "email": "bad"}), 8)
    assert first_429(answers) == 5


def test_page_view_beacons_are_limited_per_visitor_and_network():
    client = Client()
    body = json.dumps({"visitor_id": VID, "url": "https://www.example.com/"})
    answers = statuses(lambda: client.post("/t/pv", body, content_type="text/plain"), 125)
    assert first_429(answers) == 120
    pixel = client.get("/t/pv.gif", {"visitor_id": VID, "url": "https://www.example.com/"})
    assert pixel.status_code == 429 and pixel["Content-Type"] == "image/gif"


def row_counts() -> dict[str, int]:
    return {
        model._meta.db_table: model._default_manager.count() for model in apps.get_models(include_auto_created=True)
    }


@pytest.mark.parametrize("blocks", [[hero()], [hero(), {"type": "form", "form": "whitepaper"}]], ids=["plain", "form"])
def test_a_burst_on_a_hosted_landing_page_is_served_without_a_write(blocks):
    """The designed answer for /p/<slug>/, which has no limit: every visit is served from this process's
    page cache (landing/page_cache.py: the versions read at most once per VERSION_TTL, the page rendered once
    per version), with no INSERT, UPDATE or DELETE and no row added anywhere. The page view itself is not
    recorded here: track.js in the page posts it to /t/pv (leads.views.page_view), which writes one Activity
    row per view and is limited per visitor and per network (test_page_view_beacons_are_limited_...)."""
    make_form()
    make_page(published=blocks)
    client, before = Client(), row_counts()
    with CaptureQueriesContext(connection) as queries:
        answers = [
            client.get("/p/launch/", {"utm_source": f"ad{n}"}, HTTP_REFERER=f"https://ref{n}.example/").status_code
            for n in range(200)
        ]
    assert answers == [200] * 200
    assert ('action="/f/whitepaper/"' in client.get("/p/launch/").content.decode()) == (len(blocks) == 2)
    assert [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith("SELECT")] == []
    assert len(queries) <= 3  # the versions, the blocks, the forms: once, on the first visit
    assert row_counts() == before


def test_bad_open_and_click_tokens_are_limited_per_network():
    client = Client(HTTP_USER_AGENT=CHROME)
    answers = statuses(lambda: client.get("/e/o/1.zzzzz.AAAAAAAAAAAAAAAAAAAA"), 125)
    assert first_429(answers) == 120
    assert client.get("/e/c/1.zzzzz.AAAAAAAAAAAAAAAAAAAA?u=https://www.example.com/").status_code == 429


def test_genuine_opens_and_clicks_repeated_are_counted_once(monkeypatch):
    """The designed answer for a genuine link: the pixel and the redirect, and the dedup key keeps one row."""
    sent_ago(monkeypatch, 3600)
    send = make_send()
    html = personalized(send.pk)
    client = Client(HTTP_USER_AGENT=CHROME)
    assert set(statuses(lambda: client.get(pixel_path(html)), 150)) == {200}
    assert set(statuses(lambda: client.get(click_paths(html)[0]), 150)) == {302}
    kinds = list(Activity.objects.values_list("kind", flat=True).order_by("kind"))
    assert kinds == [Activity.Kind.EMAIL_CLICKED, Activity.Kind.EMAIL_OPENED]


def test_unsubscribe_requests_are_limited_per_network():
    send = make_send()
    page = "/e/u/" + tracking.unsubscribe_token(send.pk)
    client = Client()
    assert first_429(statuses(lambda: client.get(page), 33)) == 30
    assert client.post(page + "/one-click", {"List-Unsubscribe": "One-Click"}).status_code == 429


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_password_guessing_at_either_login_is_refused_with_429(path):
    make_user("root", superuser=True)
    client = Client()
    guess = lambda: client.post(path, {"username": "root", "password": "wrong"})  # noqa: E731
    answers = statuses(guess, guessing.LOGIN_PER_NETWORK + 3)
    assert first_429(answers) == guessing.LOGIN_PER_NETWORK
    assert answers[0] == 200
    right = client.post(path, {"username": "root", "password": "pw-root"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    assert "Retry-After" in right and "ログインの試行が多すぎます" in right.content.decode()


def test_colleagues_signing_in_from_one_office_address_are_never_refused():
    users = [make_user(f"staff{n}", superuser=True) for n in range(guessing.LOGIN_PER_NETWORK + 5)]
    office = Client(REMOTE_ADDR="203.0.113.7")
    answers = [office.post("/accounts/login/", {"username": u.username, "password": f"pw-{u.username}"}) for u in users]
    assert {answer.status_code for answer in answers} == {302}


def test_guessing_one_username_from_many_networks_is_refused_too():
    make_user("root", superuser=True)
    answers = [
        Client(REMOTE_ADDR=f"10.0.{n}.1").post("/accounts/login/", {"username": "ROOT ", "password": "x"}).status_code
        for n in range(guessing.LOGIN_PER_USERNAME + 2)
    ]
    assert first_429(answers) == guessing.LOGIN_PER_USERNAME


def test_api_token_guessing_is_refused_with_429_even_for_the_right_token():
    token = Token.objects.create(user=make_user("root", superuser=True))
    client = Client()
    wrong = {"HTTP_AUTHORIZATION": "Token " + "0" * 40}
    answers = statuses(lambda: client.get("/api/v1/me/", **wrong), guessing.BAD_TOKENS_PER_NETWORK + 2)
    assert first_429(answers) == guessing.BAD_TOKENS_PER_NETWORK
    assert set(answers[: guessing.BAD_TOKENS_PER_NETWORK]) == {401}
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 429
    other_network = Client(REMOTE_ADDR="10.9.9.9")
    assert other_network.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_anonymous_api_requests_are_throttled(settings):
    answers = statuses(lambda: Client().get("/api/v1/schema/"), 62)
    assert first_429(answers) == 60
