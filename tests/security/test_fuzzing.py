"""Property-based fuzzing of the leads and events API and the form endpoint: arbitrary JSON, form data, headers
and huge values never get a 500, and a refusal names the field (or the body) it refuses."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from landing.models import Submission
from leads.validation import TEXT_FIELDS
from tests.factories import make_user
from tests.landing.form_helpers import FIELDS, aged_token, make_form

pytestmark = pytest.mark.django_db

LEAD_KEYS = ["email", *TEXT_FIELDS, "tags", "custom", "consent", "stage", "owner", "company", "list"]
EVENT_KEYS = ["kind", "email", "visitor_id", "create_lead", "url", "occurred_at", "data", "dedup_key"]
GENERAL = {"detail", "non_field_errors"}
# Any character a client can encode (an unpaired surrogate cannot be sent as UTF-8), sometimes very many of them.
chars = st.characters(exclude_categories=("Cs",))
huge = st.builds(lambda char, n: char * n, chars, st.sampled_from([1000, 70_000, 300_000]))
texts = st.one_of(
    st.text(chars, max_size=60), huge, st.sampled_from(["page_view", "a@example.co.jp", "2026-11-24T00:00:00Z"])
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                           inner, max_size=4), max_leaves=12)  # fmt: skip
# WSGI hands headers over as latin-1 text: UTF-8 bytes from a client arrive as these characters too.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=300)


def bodies(keys: list[str]):
    """A JSON object of known and unknown keys (usually), or any JSON value, or bytes that are not JSON at all."""
    objects = st.dictionaries(st.sampled_from(keys) | st.text(max_size=12), json_values, max_size=len(keys) + 2)
    return st.one_of(objects.map(json.dumps), json_values.map(json.dumps), st.binary(max_size=200))


def api_client() -> Client:
    user = get_user_model().objects.filter(username="fuzz").first() or make_user("fuzz", superuser=True)
    token = Token.objects.get_or_create(user=user)[0]
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}", raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")


def assert_named(response, body: bytes | str, fields: list[str]) -> None:
    """No 500; a 400 is JSON naming only fields it was sent or the API has (or "detail" for the body as a whole)."""
    assert response.status_code < 500, response.content[:300]
    if response.status_code == 400:
        errors = response.json()
        sent = json.loads(body) if isinstance(body, str) and body.startswith("{") else {}
        assert isinstance(errors, dict) and errors, (errors, body[:300])
        assert set(errors) <= set(sent) | set(fields) | GENERAL, (errors, body[:300])


@given(body=bodies(LEAD_KEYS))
def test_the_leads_api_takes_any_body(body):
    response = api_client().post("/api/v1/leads/", body, content_type="application/json")
    assert_named(response, body, LEAD_KEYS)


@given(body=bodies(EVENT_KEYS))
def test_the_events_api_takes_any_body(body):
    response = api_client().post("/api/v1/events/", body, content_type="application/json")
    assert_named(response, body, EVENT_KEYS)


# A URL is cut at a few KB by any server in front of us: long values, not the bodies' huge ones.
query_values = st.one_of(st.text(chars, max_size=60), st.builds(lambda char: char * 8000, chars))


@given(query=st.dictionaries(st.sampled_from(["stage", "score_min", "tag", "updated_since", "page"]) | st.text(
       max_size=10), st.lists(query_values, min_size=1, max_size=3), max_size=4))  # fmt: skip
def test_the_leads_list_takes_any_query(query):
    response = api_client().get("/api/v1/leads/", query)
    assert response.status_code in (200, 400, 404), response.content[:300]  # 404: a page that does not exist


form_keys = st.sampled_from([field["key"] for field in FIELDS] + ["website", "_token", "_vid", "_page"])
form_data = st.dictionaries(form_keys | st.text(max_size=12), st.lists(texts, min_size=1, max_size=3), max_size=12)
headers = st.fixed_dictionaries({}, optional={"HTTP_ORIGIN": header_text, "HTTP_REFERER": header_text,
                                 "HTTP_USER_AGENT": header_text, "HTTP_X_FORWARDED_FOR": header_text,
                                 "HTTP_ACCEPT_LANGUAGE": header_text, "HTTP_COOKIE": header_text})  # fmt: skip


@pytest.fixture
def fuzz_form(settings):
    """One form for all examples of a test, its rate limits out of the way (the limits have their own tests)."""
    settings.FORM_RATE_LIMIT_PER_MINUTE = settings.FORM_RATE_LIMIT_PER_FORM_PER_MINUTE = 10**9
    return make_form("fuzz")


@given(data=form_data, extra=headers, embed=st.booleans())
def test_the_form_endpoint_takes_any_fields_and_headers(fuzz_form, data, extra, embed):
    data = {"_token": aged_token(fuzz_form), **data}
    before = Submission.objects.count()
    response = Client(raise_request_exception=False).post(f"/f/fuzz/{'?embed=1' if embed else ''}", data, **extra)
    assert response.status_code in (200, 400, 403, 413), response.status_code
    if response.status_code == 400:
        named = set(response.context["errors"]) | ({"form"} if response.context["form_errors"] else set())
        assert named and named <= {field["key"] for field in FIELDS} | {"form"}, named
    assert Submission.objects.count() - before in (0, 1)


@pytest.mark.parametrize("url", ["/api/v1/leads/", "/api/v1/events/", "/api/v1/segments/"])
def test_a_body_beyond_what_django_reads_is_a_json_413(url):
    body = json.dumps({"email": "a@example.co.jp", "last_name": "x" * 3_000_000})
    response = api_client().post(url, body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
