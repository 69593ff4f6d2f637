"""Every paginated list of the API checks `page` and `page_size`: a bad one is a 400 naming it, never ignored."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from landing.models import Submission
from leads.models import Segment
from tests.factories import make_campaign, make_lead, make_list, make_user
from tests.landing.form_helpers import make_form

pytestmark = pytest.mark.django_db

SIZE_PROBLEM = {"page_size": ["must be a whole number from 1 to 200"]}
PAGE_PROBLEM = {"page": ["must be a whole number, 1 or more"]}
BAD_SIZES = ["abc", "0", "-1", "201", "10000", "9" * 30, "9" * 5000, "1.5", "1e3", " 5", "+5", "5_0", "５", "0x10",
             "\x00", "'; DROP TABLE leads_lead; --"]  # fmt: skip
BAD_PAGES = ["abc", "0", "00", "-1", "1.5", "last", " 1", "+1", "１", "\x00", "1 OR 1=1"]
# The leads list refuses a NUL in any of its parameters before it reads them.
NUL_PROBLEM = {"detail": "a query parameter holds \\u0000 or a lone surrogate"}


def refusal(url: str, value: str, problem: dict) -> tuple[int, dict]:
    return 400, NUL_PROBLEM if url == "/api/v1/leads/" and "\x00" in value else problem


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('root', superuser=True)).key}")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def lists() -> list[str]:
    """Every list endpoint that paginates, each holding three rows."""
    leads = [make_lead(f"p{i}@example.com") for i in range(3)]
    form = make_form()
    Submission.objects.bulk_create(Submission(form=form, data={"email": f"s{i}@example.com"}) for i in range(3))
    segment = Segment.objects.create(name="all", match="any", conditions=[])
    for i in range(3):
        make_campaign(name=f"c{i}")
        make_form(f"form{i}")
        Segment.objects.create(name=f"s{i}")
    make_list(*leads), make_list(name="b"), make_list(name="c")
    # Scoring rules, sequences and opportunities may be empty: their answer is still a page.
    return [
        "/api/v1/leads/", "/api/v1/segments/", f"/api/v1/segments/{segment.pk}/members/", "/api/v1/lists/",
        f"/api/v1/lists/{make_list(*leads, name='d').pk}/members/", "/api/v1/scoring-rules/", "/api/v1/forms/",
        f"/api/v1/forms/{form.pk}/submissions/", "/api/v1/opportunities/", "/api/v1/sequences/",
        "/api/v1/campaigns/",
    ]  # fmt: skip


def test_every_list_refuses_a_bad_page_size_naming_it_and_the_range(api, lists):
    for url in lists:
        for value in BAD_SIZES:
            response = api.get(url, {"page_size": value})
            assert (response.status_code, response.json()) == refusal(url, value, SIZE_PROBLEM), (url, value)


def test_every_list_refuses_a_page_that_is_not_a_whole_number_from_1(api, lists):
    for url in lists:
        for value in BAD_PAGES:
            response = api.get(url, {"page": value})
            assert (response.status_code, response.json()) == refusal(url, value, PAGE_PROBLEM), (url, value)


def test_every_list_serves_the_page_size_asked_for_from_1_to_200(api, lists):
    for url in lists:
        page = api.get(url, {"page_size": 1}).json()
        assert len(page["results"]) <= 1 and (page["next"] is not None) == (page["count"] > 1), url
        assert api.get(url, {"page_size": 200}).status_code == 200, url
        assert api.get(url, {"page_size": "002", "page": "01"}).status_code == 200, url


def test_an_empty_page_or_page_size_means_the_default(api):
    for i in range(3):
        make_lead(f"e{i}@example.com")
    page = api.get("/api/v1/leads/", {"page": "", "page_size": ""}).json()
    assert page["count"] == 3 and len(page["results"]) == 3


def test_a_page_past_the_last_is_still_404_however_large(api):
    make_lead()
    for value in ["2", "99", "9" * 30, "9" * 5000]:
        assert api.get("/api/v1/leads/", {"page": value}).status_code == 404, value[:20]


def test_the_refusal_is_in_japanese_for_a_japanese_client(api):
    response = api.get("/api/v1/leads/", {"page_size": "0"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.json() == {"page_size": ["1 から 200 までの整数で指定してください"]}
    response = api.get("/api/v1/leads/", {"page": "0"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.json() == {"page": ["1 以上の整数で指定してください"]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.integers().map(str))
def test_any_page_size_is_served_or_refused_with_the_range(api, value):
    response = api.get("/api/v1/scoring-rules/", {"page_size": value})
    if value and not (value.isascii() and value.isdigit() and 1 <= int(value) <= 200):
        assert (response.status_code, response.json()) == (400, SIZE_PROBLEM)
    else:
        assert response.status_code == 200


def test_the_schema_documents_both_parameters_with_their_range(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ["/api/v1/leads/", "/api/v1/campaigns/", "/api/v1/forms/{id}/submissions/"]:
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}, path
        assert parameters["page"]["schema"] == {"type": "integer", "minimum": 1}, path
        assert "400" in parameters["page_size"]["description"], path
