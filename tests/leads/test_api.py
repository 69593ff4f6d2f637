"""The leads API: listing and reading leads, the upsert by email, events, roles and hostile input."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Activity, Company, Consent, CustomField, Lead, Tag
from mautomation.roles import MARKETER, SALES
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db

LEADS, EVENTS = "/api/v1/leads/", "/api/v1/events/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # make_user hashes a password; the production hasher's slowness is wasted here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def marketer():
    return client_for(make_user("marketer", role=MARKETER))


@pytest.fixture
def sales():
    return client_for(make_user("sales", role=SALES))


def post(client: APIClient, url: str, body) -> object:
    return client.post(url, json.dumps(body), content_type="application/json")


# --- Who may do what -------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), [("get", LEADS), ("get", f"{LEADS}1/"), ("post", LEADS), ("post", EVENTS)])
def test_anonymous_requests_are_401(method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401


def test_sales_may_read_leads_but_not_write_them_or_events(sales):
    lead = make_lead()
    assert sales.get(LEADS).status_code == 200
    assert sales.get(f"{LEADS}{lead.pk}/").status_code == 200
    assert post(sales, LEADS, {"email": "new@example.com"}).status_code == 403
    assert post(sales, EVENTS, {"kind": "download", "email": lead.email}).status_code == 403
    assert not Lead.objects.filter(email="new@example.com").exists()


def test_a_user_without_a_role_may_not_even_read():
    client = client_for(make_user("nobody"))
    assert client.get(LEADS).status_code == 403


def test_superusers_may_write():
    client = client_for(make_user("root", superuser=True))
    assert post(client, LEADS, {"email": "boss@example.com"}).status_code == 201


# --- Upsert ------------------------------------------------------------------------


def test_upsert_of_a_new_address_is_201_with_the_lead(marketer):
    response = post(marketer, LEADS, {"email": "taro@acme.co.jp", "last_name": "山田", "company_name": "ACME"})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "taro@acme.co.jp" and body["last_name"] == "山田"
    assert body["company"]["domain"] == "acme.co.jp"
    assert body["id"] == Lead.objects.get().pk


def test_upsert_of_a_known_address_is_200_and_updates_it(marketer):
    lead = make_lead("taro@example.com", last_name="山田")
    response = post(marketer, LEADS, {"email": "TARO@example.com", "title": "部長"})
    assert response.status_code == 200
    assert response.json()["title"] == "部長"
    lead.refresh_from_db()
    assert (lead.title, lead.last_name, Lead.objects.count()) == ("部長", "山田", 1)


def test_upsert_with_nothing_new_is_200_and_leaves_the_lead_alone(marketer):
    post(marketer, LEADS, {"email": "taro@example.com", "last_name": "山田"})
    before = Lead.objects.get().updated_at
    response = post(marketer, LEADS, {"email": "taro@example.com", "last_name": "山田", "first_name": ""})
    assert response.status_code == 200
    assert Lead.objects.get().updated_at == before


def test_upsert_stores_custom_fields_typed_by_their_definition_and_tags(marketer):
    CustomField.objects.create(key="employees", label="Employees", kind=CustomField.Kind.NUMBER)
    CustomField.objects.create(key="plan", label="Plan", kind=CustomField.Kind.CHOICE, choices=["free", "pro"])
    body = {"email": "a@example.com", "custom": {"employees": 1200, "plan": "pro"}, "tags": ["seminar", "2025"]}
    response = post(marketer, LEADS, body)
    assert response.status_code == 201
    assert response.json()["custom"] == {"employees": 1200, "plan": "pro"}
    assert sorted(response.json()["tags"]) == ["2025", "seminar"]


def test_upsert_null_custom_value_never_erases(marketer):
    CustomField.objects.create(key="plan", label="Plan")
    make_lead("a@example.com", custom={"plan": "pro"})
    response = post(marketer, LEADS, {"email": "a@example.com", "custom": {"plan": None}})
    assert response.status_code == 200
    assert Lead.objects.get().custom == {"plan": "pro"}


def test_upsert_records_api_consent_and_resubscribes(marketer):
    make_lead("a@example.com", email_status=Lead.EmailStatus.UNSUBSCRIBED)
    body = {"email": "a@example.com", "consent": {"method": "api", "wording": "ニュースを受け取る"}}
    response = post(marketer, LEADS, body)
    assert response.status_code == 200
    assert response.json()["consent"] is True and response.json()["email_status"] == "ok"
    assert Consent.objects.get().wording == "ニュースを受け取る"


def test_upsert_consent_method_defaults_to_api(marketer):
    post(marketer, LEADS, {"email": "a@example.com", "consent": {}})
    assert Consent.objects.get().method == Consent.Method.API


def test_upsert_touch_sets_first_touch_once_and_last_touch_each_time(marketer):
    first = {"utm_source": "google", "utm_medium": "cpc", "url": "https://example.com/lp"}
    post(marketer, LEADS, {"email": "a@example.com", "touch": first})
    post(marketer, LEADS, {"email": "a@example.com", "touch": {"utm_source": "newsletter"}})
    lead = Lead.objects.get()
    assert lead.first_touch == first
    assert lead.last_touch == {"utm_source": "newsletter"}


def test_validation_problems_are_400_by_field(marketer):
    CustomField.objects.create(key="size", label="Size", kind=CustomField.Kind.NUMBER)
    body = {"email": "not-an-address", "phone": "call me", "custom": {"size": "big", "nope": "x"}}
    response = post(marketer, LEADS, body)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"email", "phone", "custom"} and set(errors["custom"]) == {"size", "nope"}
    assert isinstance(errors["email"][0], str) and isinstance(errors["custom"]["size"][0], str)
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "email",
    ["", "   ", "taro", "taro@", "@example.com", "taro@@example.com", "taro@example..com", "ta ro@example.com",
     "taro@exam\nple.com", "<script>@example.com", "x" * 250 + "@example.com", "a@" + "b" * 300 + ".com"],
)  # fmt: skip
def test_malformed_and_overlong_emails_are_400(marketer, email):
    response = post(marketer, LEADS, {"email": email})
    assert response.status_code == 400
    assert "email" in response.json()
    assert not Lead.objects.exists()


def test_a_thousand_character_name_is_400_with_the_limit(marketer):
    response = post(marketer, LEADS, {"email": "a@example.com", "last_name": "山" * 1000})
    assert response.status_code == 400
    assert "100" in response.json()["last_name"][0]


def test_html_in_text_fields_is_stored_as_text_and_returned_as_json_data(marketer):
    script = "<script>alert('x')</script>"
    response = post(marketer, LEADS, {"email": "a@example.com", "last_name": script, "title": '"><img src=x>'})
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["last_name"] == script
    assert Lead.objects.get().last_name == script


def test_control_characters_are_refused(marketer):
    response = post(marketer, LEADS, {"email": "a@example.com", "first_name": "Ta\x07ro"})
    assert response.status_code == 400
    assert "first_name" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": 42}, "email"),
        ({"email": None}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"email": {"address": "a@example.com"}}, "email"),
        ({"email": "a@example.com", "last_name": 42}, "last_name"),
        ({"email": "a@example.com", "phone": 312345678}, "phone"),
        ({"email": "a@example.com", "first_name": ["Taro"]}, "first_name"),
        ({"email": "a@example.com", "company_name": True}, "company_name"),
        ({"email": "a@example.com", "tags": "a,b"}, "tags"),
        ({"email": "a@example.com", "tags": [1, 2]}, "tags"),
        ({"email": "a@example.com", "custom": ["x"]}, "custom"),
        ({"email": "a@example.com", "custom": {"plan": True}}, "custom"),
        ({"email": "a@example.com", "custom": {"plan": {"nested": 1}}}, "custom"),
        ({"email": "a@example.com", "consent": "yes"}, "consent"),
        ({"email": "a@example.com", "consent": {"method": "telepathy"}}, "consent"),
        ({"email": "a@example.com", "touch": {"url": "javascript:alert(1)"}}, "touch"),
        ({"email": "a@example.com", "touch": {"utm_source": "x" * 301}}, "touch"),
        ({"email": "a@example.com", "visitor_id": "short"}, "visitor_id"),
        ({"email": "a@example.com", "visitor_id": "a" * 65}, "visitor_id"),
    ],
)
def test_wrong_types_and_shapes_are_400_naming_the_field(marketer, body, field):
    response = post(marketer, LEADS, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("body", "where", "names"),
    [
        ({"email": "a@example.com", "stage": "customer"}, [], {"stage"}),
        ({"email": "a@example.com", "score": 100, "owner": 1}, [], {"owner", "score"}),
        ({"email": "a@example.com", "consent": {"method": "api", "ip": "1.2.3.4"}}, ["consent"], {"ip"}),
        ({"email": "a@example.com", "touch": {"gclid": "abc"}}, ["touch"], {"gclid"}),
    ],
)
def test_unknown_fields_are_400_by_name_never_dropped(marketer, body, where, names):
    response = post(marketer, LEADS, body)
    assert response.status_code == 400
    errors = response.json()
    for name in where:
        errors = errors[name]
    assert set(errors) == names
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"email": "a@example.com",}', b"not json", b"\xff\xfe", b'{"email": NaN}', b"[" * 40000, b'"a string"',
     b"[]", b"null", b""],
)  # fmt: skip
def test_invalid_json_bodies_are_400_not_500(marketer, raw):
    response = marketer.post(LEADS, raw, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "last_name": "Ta\u0000ro"},
        {"email": "a@example.com", "last_name": "\ud800"},
        {"email": "a@example.com", "custom": {"plan": "pro\u0000"}},
        {"email": "a@example.com", "tags": ["\udfff"]},
        {"kind": "custom", "email": "a@example.com", "data": {"note": "\u0000"}},
        {"kind": "custom", "email": "a@example.com", "data": {"\u0000": 1}},
        {"kind": "custom", "email": "a@example.com", "data": {"deep": [[{"x": "\ud83d"}]]}},
        {"kind": "custom", "email": "a@example.com", "data": {"n": 1e999}},
    ],
)
def test_strings_postgresql_cannot_store_are_400_not_500(marketer, body):
    """NUL and lone surrogates are valid JSON, but text and jsonb columns refuse them."""
    CustomField.objects.create(key="plan", label="Plan")
    make_lead("a@example.com")
    url = EVENTS if "kind" in body else LEADS
    raw = json.dumps(body).replace("Infinity", "1e999")  # a number too large for a float, as a client may send
    response = marketer.post(url, raw, content_type="application/json")
    assert response.status_code == 400
    assert Lead.objects.get().last_name == "" and not Activity.objects.exists()


def test_a_number_custom_field_refuses_an_infinite_value(marketer):
    CustomField.objects.create(key="employees", label="Employees", kind=CustomField.Kind.NUMBER)
    response = post(marketer, LEADS, {"email": "a@example.com", "custom": {"employees": "1.0e999"}})
    assert response.status_code == 400


def test_a_two_megabyte_body_is_413(marketer):
    body = json.dumps({"email": "a@example.com", "last_name": "x" * 2_000_000})
    response = marketer.post(LEADS, body, content_type="application/json")
    assert response.status_code == 413
    assert not Lead.objects.exists()


def test_a_form_encoded_body_is_415(marketer):
    response = marketer.post(LEADS, "email=a%40example.com", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


# --- Listing and reading -----------------------------------------------------------


def test_detail_returns_the_lead_and_404_for_an_unknown_id(marketer):
    lead = make_lead(last_name="山田")
    assert marketer.get(f"{LEADS}{lead.pk}/").json()["last_name"] == "山田"
    assert marketer.get(f"{LEADS}{lead.pk + 1}/").status_code == 404
    assert marketer.get(f"{LEADS}abc/").status_code == 404


def test_list_is_paginated(marketer):
    for i in range(5):
        make_lead(f"p{i}@example.com")
    page = marketer.get(LEADS, {"page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert marketer.get(LEADS, {"page": 99}).status_code == 404


def test_list_makes_the_same_few_queries_however_many_leads(marketer, django_assert_max_num_queries):
    owner, tags = make_user("owner", role=SALES), [Tag.objects.create(name=f"t{i}") for i in range(3)]
    for i in range(30):
        company = Company.objects.create(name=f"Company {i}", domain=f"c{i}.example.com")
        make_lead(f"lead{i}@c{i}.example.com", company=company, owner=owner).tags.set(tags)
    # token, the user's permissions (2), count, page, tags
    with django_assert_max_num_queries(6):
        response = marketer.get(LEADS)
    assert len(response.json()["results"]) == 30
    assert response.json()["results"][0]["owner"]["username"] == "owner"


@pytest.fixture
def three_leads():
    owner = make_user("owner", role=SALES)
    acme = Company.objects.create(name="ACME", domain="acme.example.com")
    CustomField.objects.create(key="employees", label="Employees", kind=CustomField.Kind.NUMBER)
    CustomField.objects.create(key="plan", label="Plan")
    a = make_lead("a@acme.example.com", company=acme, owner=owner, score=80, stage=Lead.Stage.MQL)
    a.custom = {"employees": 500, "plan": "pro"}
    a.save()
    a.tags.add(Tag.objects.create(name="seminar"), Tag.objects.create(name="vip"))
    b = make_lead("b@example.com", score=10, email_status=Lead.EmailStatus.BOUNCED, custom={"plan": "free"})
    b.tags.add(Tag.objects.get(name="seminar"))
    make_lead("c@example.com", score=40)
    return {"owner": owner, "acme": acme}


@pytest.mark.parametrize(
    ("params", "emails"),
    [
        ({"email": "Ａ@ACME.example.com"}, ["a@acme.example.com"]),
        ({"stage": "mql"}, ["a@acme.example.com"]),
        ({"email_status": "bounced"}, ["b@example.com"]),
        ({"tag": "seminar"}, ["a@acme.example.com", "b@example.com"]),
        ({"tag": ["seminar", "vip"]}, ["a@acme.example.com"]),
        ({"score_min": 40}, ["a@acme.example.com", "c@example.com"]),
        ({"score_min": 20, "score_max": 50}, ["c@example.com"]),
        ({"custom.plan": "free"}, ["b@example.com"]),
        ({"custom.employees": "500"}, ["a@acme.example.com"]),
        ({"custom.employees": "501"}, []),
        ({"updated_since": "2000-01-01T00:00:00Z"}, ["a@acme.example.com", "b@example.com", "c@example.com"]),
        ({"updated_since": "2999-01-01T00:00:00+09:00"}, []),
    ],
)
def test_list_filters(marketer, three_leads, params, emails):
    results = marketer.get(LEADS, params).json()["results"]
    assert sorted(lead["email"] for lead in results) == emails


def test_list_filters_by_owner_and_company_ids(marketer, three_leads):
    for params in ({"owner": three_leads["owner"].pk}, {"company": three_leads["acme"].pk}):
        assert [lead["email"] for lead in marketer.get(LEADS, params).json()["results"]] == ["a@acme.example.com"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"score_min": "lots"}, "score_min"),
        ({"stage": "vip"}, "stage"),
        ({"owner": "taro"}, "owner"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"custom.nope": "x"}, "custom.nope"),
        ({"custom.employees": "many"}, "custom.employees"),
        ({"owner": 2**64}, "owner"),
        ({"company": "99999999999999999999"}, "company"),
        ({"score_min": 10**30}, "score_min"),
        ({"custom.plan": "pro\x00"}, "detail"),
        ({"custom.pl\x00an": "pro"}, "detail"),
        ({"email": "a\x00@example.com"}, "detail"),
    ],
)
def test_unknown_or_malformed_filters_are_400(marketer, three_leads, params, field):
    response = marketer.get(LEADS, params)
    assert response.status_code == 400
    assert field in response.json()
    assert marketer.get(LEADS).status_code == 200  # on PostgreSQL: the request did not break the transaction


# --- Events ------------------------------------------------------------------------


def test_an_event_for_a_known_lead_is_201_recorded_and_processed(marketer, django_capture_on_commit_callbacks):
    lead = make_lead()
    body = {"kind": "download", "email": "TARO@example.com", "url": "https://example.com/wp.pdf", "data": {"a": 1}}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(marketer, EVENTS, body)
    assert response.status_code == 201
    activity = Activity.objects.get()
    assert (activity.lead, activity.kind, activity.data) == (lead, "download", {"a": 1})
    assert activity.processed_at is not None
    assert response.json()["id"] == activity.pk and response.json()["lead"] == lead.pk
    lead.refresh_from_db()
    assert lead.last_activity_at == activity.occurred_at


def test_an_event_for_an_unknown_email_is_400_unless_create_lead(marketer):
    response = post(marketer, EVENTS, {"kind": "download", "email": "ghost@example.com"})
    assert response.status_code == 400 and "email" in response.json()
    response = post(marketer, EVENTS, {"kind": "download", "email": "ghost@example.com", "create_lead": True})
    assert response.status_code == 201
    assert Activity.objects.get().lead == Lead.objects.get(email="ghost@example.com")


def test_an_event_for_a_visitor_alone_is_kept_anonymous(marketer):
    response = post(marketer, EVENTS, {"kind": "custom", "visitor_id": "v" * 20, "data": {"video": "demo"}})
    assert response.status_code == 201
    assert Activity.objects.get().lead is None


def test_posting_the_same_dedup_key_again_returns_the_first_event_with_200(marketer):
    lead = make_lead()
    body = {"kind": "form_submit", "email": lead.email, "dedup_key": "crm-123"}
    first = post(marketer, EVENTS, body)
    second = post(marketer, EVENTS, {**body, "data": {"retry": True}})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Activity.objects.count() == 1


def test_occurred_at_may_be_a_little_ahead_but_not_far_future_nor_over_a_year_ago(marketer):
    lead, now = make_lead(), timezone.now()

    def status(when) -> int:
        body = {"kind": "custom", "email": lead.email, "occurred_at": when.isoformat()}
        return post(marketer, EVENTS, body).status_code

    assert status(now + timedelta(minutes=4)) == 201
    assert status(now - timedelta(days=364)) == 201
    assert status(now + timedelta(minutes=6)) == 400
    assert status(now - timedelta(days=366)) == 400


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"kind": "score_changed"}, "kind"),
        ({"kind": "stage_changed"}, "kind"),
        ({"kind": "party"}, "kind"),
        ({"email": None, "visitor_id": None}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://example.com/" + "x" * 2000}, "url"),
        ({"data": ["a", "list"]}, "data"),
        ({"data": "text"}, "data"),
        ({"data": {"blob": "x" * 11_000}}, "data"),
        ({"dedup_key": "k" * 201}, "dedup_key"),
        ({"dedup_key": 7}, "dedup_key"),
        ({"occurred_at": "last tuesday"}, "occurred_at"),
        ({"campaign": 3}, "campaign"),
    ],
)
def test_bad_events_are_400_naming_the_field(marketer, extra, field):
    make_lead()
    body = {"kind": "custom", "email": "taro@example.com", **extra}
    response = post(marketer, EVENTS, {name: value for name, value in body.items() if value is not None})
    assert response.status_code == 400
    assert field in response.json()
    assert not Activity.objects.exists()


# --- The schema --------------------------------------------------------------------


def test_the_openapi_schema_documents_the_leads_api_without_warnings(client, capsys):
    call_command("spectacular", "--validate", "--fail-on-warn")
    client.force_login(make_user("admin", superuser=True))
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert {"/api/v1/leads/", "/api/v1/leads/{id}/", "/api/v1/events/"} <= set(paths)
