"""Website tracking: the page-view beacon and pixel, their limits, CORS, and identification of a visitor."""

import json
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads import stream, tracking
from leads.models import Activity, Lead, VisitorLink
from leads.views import PIXEL
from mautomation.roles import MARKETER
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db

VID = "3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9"
VIEW = {
    "visitor_id": VID,
    "url": "https://www.example.co.jp/pricing?utm_source=news",
    "referrer": "https://www.google.com/",
    "title": "料金 | Example",
    "utm_source": "news",
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def beacon(client, body, **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/t/pv", raw, content_type="text/plain;charset=UTF-8", **headers)


def utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


@pytest.fixture
def processed(monkeypatch):
    """A test consumer in place of the real ones: the ids of the activities it was handed."""
    seen: list[int] = []
    monkeypatch.setattr(stream, "_consumers", {})
    stream.register("test", lambda activity: seen.append(activity.pk))
    return seen


# --- Recording -----------------------------------------------------------------------


def test_a_beacon_records_an_anonymous_page_view(client):
    response = beacon(client, VIEW)
    assert response.status_code == 204
    view = Activity.objects.get()
    assert (view.kind, view.visitor_id, view.url, view.lead) == ("page_view", VID, VIEW["url"], None)
    assert view.data == {"title": VIEW["title"], "referrer": VIEW["referrer"], "utm": {"utm_source": "news"}}
    assert view.processed_at is None


def test_the_pixel_records_the_view_and_answers_a_43_byte_gif(client):
    response = client.get("/t/pv.gif", VIEW)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif" and response.content == PIXEL and len(PIXEL) == 43
    assert "no-cache" in response["Cache-Control"]
    assert Activity.objects.get().url == VIEW["url"]


def test_the_endpoints_set_no_cookie_and_store_no_ip_address(client):
    beacon(client, VIEW, REMOTE_ADDR="203.0.113.9")
    response = client.get("/t/pv.gif", VIEW, REMOTE_ADDR="203.0.113.9")
    assert not response.cookies
    for view in Activity.objects.all():
        assert "203.0.113" not in json.dumps([view.url, view.visitor_id, view.data])


def test_the_beacon_needs_no_csrf_token():
    assert beacon(APIClient(enforce_csrf_checks=True), VIEW).status_code == 204


def test_only_post_and_get_are_answered(client):
    assert client.get("/t/pv").status_code == 405
    assert client.post("/t/pv.gif", VIEW).status_code == 405
    assert client.put("/t/pv", json.dumps(VIEW)).status_code == 405


# --- Hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"visitor_id": ""},
        {"visitor_id": "short"},
        {"visitor_id": "x" * 65},
        {"visitor_id": "abc def ghi jkl mno"},
        {"visitor_id": VID + "\n"},
        {"visitor_id": "<script>alert(1)</script>"},
        {"url": ""},
        {"url": "javascript:alert(1)//http://x"},
        {"url": "ftp://example.com/file"},
        {"url": "/relative/path"},
        {"url": "https://example.com/" + "a" * 2000},
        {"url": "https://exa mple.com/"},
        {"referrer": "android-app://com.google.android.gm"},
        {"title": "t" * 301},
        {"utm_campaign": "c" * 301},
        {"visitor_id": 12345678901234567890},
        {"title": ["a", "list"]},
        {"ip": "203.0.113.9"},
        {"title": "Pricing\x00"},
        {"utm_source": "news\x07"},
        {"title": "\ud800"},
    ],
)
def test_invalid_views_are_refused_by_both_endpoints(client, changes):
    body = {**VIEW, **changes}
    response = beacon(client, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain") and response.content
    if all(isinstance(value, str) and utf8(value) for value in body.values()):  # what a query string can carry
        pixel = client.get("/t/pv.gif", body)
        assert (pixel.status_code, pixel.content) == (400, PIXEL)
    assert not Activity.objects.exists()


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"[" * 5000])
def test_bodies_that_are_not_a_json_object_are_400(client, raw):
    assert beacon(client, raw).status_code == 400


def test_a_body_over_8_kb_is_413(client):
    response = beacon(client, {**VIEW, "title": "x" * 9000})
    assert response.status_code == 413
    assert not Activity.objects.exists()


# --- Rate limits ---------------------------------------------------------------------


def test_one_visitor_over_its_limit_gets_429(client, monkeypatch):
    monkeypatch.setattr(tracking, "PER_VISITOR_LIMIT", 3)
    statuses = [beacon(client, VIEW).status_code for _ in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert beacon(client, {**VIEW, "visitor_id": "another-visitor-0001"}).status_code == 204
    assert client.get("/t/pv.gif", VIEW).status_code == 429
    assert Activity.objects.count() == 4


def test_one_address_rotating_visitor_ids_gets_429(client, monkeypatch):
    monkeypatch.setattr(tracking, "PER_IP_LIMIT", 3)
    statuses = [beacon(client, {**VIEW, "visitor_id": f"visitor-{i:012d}"}).status_code for i in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert beacon(client, VIEW, REMOTE_ADDR="198.51.100.7").status_code == 204


def test_behind_the_tls_proxy_the_address_it_appended_is_counted(client, monkeypatch, settings):
    monkeypatch.setattr(tracking, "PER_IP_LIMIT", 1)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert beacon(client, VIEW, HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.1").status_code == 204
    assert beacon(client, VIEW, HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.2").status_code == 204
    assert beacon(client, VIEW, HTTP_X_FORWARDED_FOR="10.0.0.9, 198.51.100.2").status_code == 429


def test_without_a_proxy_a_forged_forwarded_for_does_not_escape_the_limit(client, monkeypatch):
    monkeypatch.setattr(tracking, "PER_IP_LIMIT", 1)
    assert beacon(client, VIEW, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 204
    assert beacon(client, VIEW, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429


def test_ip_buckets_group_an_ipv6_household_and_hide_the_address():
    assert tracking.ip_bucket("2001:db8:1:2::1") == tracking.ip_bucket("2001:db8:1:2:ffff::9")
    assert tracking.ip_bucket("2001:db8:1:2::1") != tracking.ip_bucket("2001:db8:1:3::1")
    assert tracking.ip_bucket("203.0.113.1") != tracking.ip_bucket("203.0.113.2")
    assert "203" not in tracking.ip_bucket("203.0.113.1")
    assert tracking.ip_bucket("") == tracking.ip_bucket("garbage")


# --- CORS ----------------------------------------------------------------------------


def test_an_allowed_origin_may_read_the_answer(client, settings):
    settings.TRACKING_ALLOWED_ORIGINS = ["https://www.example.co.jp"]
    response = beacon(client, VIEW, HTTP_ORIGIN="https://www.example.co.jp")
    assert response["Access-Control-Allow-Origin"] == "https://www.example.co.jp"
    assert "Origin" in response["Vary"]


def test_another_origin_gets_no_cors_header_but_its_view_still_counts(client, settings):
    settings.TRACKING_ALLOWED_ORIGINS = ["https://www.example.co.jp"]
    response = beacon(client, VIEW, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response


def test_preflight_is_answered_for_allowed_origins_only(client, settings):
    settings.TRACKING_ALLOWED_ORIGINS = ["https://www.example.co.jp"]
    headers = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type"}
    allowed = client.options("/t/pv", HTTP_ORIGIN="https://www.example.co.jp", **headers)
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == "https://www.example.co.jp"
    assert "POST" in allowed["Access-Control-Allow-Methods"] and allowed["Access-Control-Allow-Headers"]
    other = client.options("/t/pv", HTTP_ORIGIN="https://evil.example", **headers)
    assert "Access-Control-Allow-Origin" not in other
    assert not Activity.objects.exists()


def test_without_the_setting_no_origin_is_allowed(client):
    assert "Access-Control-Allow-Origin" not in beacon(client, VIEW, HTTP_ORIGIN="https://www.example.co.jp")


# --- Identification ------------------------------------------------------------------


def test_views_of_an_identified_visitor_land_on_the_lead_and_are_processed(
    client, processed, django_capture_on_commit_callbacks
):
    lead = make_lead()
    VisitorLink.objects.create(visitor_id=VID, lead=lead)
    with django_capture_on_commit_callbacks(execute=True):
        beacon(client, VIEW)
    view = Activity.objects.get()
    assert view.lead == lead and view.processed_at is not None
    assert processed == [view.pk]


def test_an_api_upsert_with_the_visitor_id_joins_the_anonymous_views_to_the_lead(
    client, processed, django_capture_on_commit_callbacks
):
    for path in ("/", "/pricing", "/contact"):
        beacon(client, {**VIEW, "url": f"https://www.example.co.jp{path}"})
    assert not processed and Activity.objects.filter(lead=None).count() == 3
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('m', role=MARKETER)).key}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/leads/", {"email": "taro@example.com", "visitor_id": VID}, format="json")
    lead = Lead.objects.get(pk=response.json()["id"])
    assert set(Activity.objects.values_list("lead", flat=True)) == {lead.pk}
    assert not Activity.objects.filter(processed_at=None).exists()
    assert len(processed) == 3
    with django_capture_on_commit_callbacks(execute=True):
        beacon(client, {**VIEW, "url": "https://www.example.co.jp/thanks"})
    later = Activity.objects.get(url__endswith="/thanks")
    assert later.lead == lead and later.processed_at is not None and len(processed) == 4


def test_an_api_event_with_email_and_visitor_id_identifies_the_visitor(
    client, processed, django_capture_on_commit_callbacks
):
    lead = make_lead()
    beacon(client, VIEW)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('m', role=MARKETER)).key}")
    with django_capture_on_commit_callbacks(execute=True):
        body = {"kind": "download", "email": lead.email, "visitor_id": VID}
        assert api.post("/api/v1/events/", body, format="json").status_code == 201
    assert Activity.objects.filter(lead=lead).count() == 2 and len(processed) == 2
    assert VisitorLink.objects.get().lead == lead


# --- The snippet and its script --------------------------------------------------------


def test_snippet_points_at_the_script_and_the_endpoint_of_this_installation():
    html = tracking.snippet_html("https://ma.example.com/")
    assert html == (
        '<script src="https://ma.example.com/static/leads/track.js" data-endpoint="https://ma.example.com/t/" async>'
        "</script>"
    )


def test_snippet_uses_an_absolute_static_url_and_escapes_the_base(settings):
    settings.STATIC_URL = "https://cdn.example.com/static/"
    html = tracking.snippet_html('https://ma.example.com/"><script>')
    assert 'src="https://cdn.example.com/static/leads/track.js"' in html
    assert '"><script>' not in html


def test_the_script_is_a_static_file_exposing_the_visitor_id():
    source = Path(finders.find("leads/track.js")).read_text(encoding="utf-8")
    for needle in ("_mauto_vid", "SameSite=Lax", "localStorage", "sendBeacon", "keepalive", "pv.gif", "visitorId"):
        assert needle in source


@pytest.mark.parametrize("visitor_id", ["a" * 16, "A-z_0" * 12 + "abcd", "a" * 64])
def test_visitor_ids_of_16_to_64_url_safe_characters_are_accepted(visitor_id):
    assert tracking.visitor_id_problem(visitor_id) is None
