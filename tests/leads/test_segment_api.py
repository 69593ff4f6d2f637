"""The segments and lists API: CRUD, counts, members by id or email, roles, and wrong, hostile and huge input."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Activity, Lead, LeadList, ListMembership, Segment
from mautomation.roles import MARKETER, SALES
from tests.factories import make_activity, make_lead, make_user

pytestmark = pytest.mark.django_db

SEGMENTS, LISTS = "/api/v1/segments/", "/api/v1/lists/"
TITLE_BUCHO = {"field": "title", "op": "contains", "value": "部長"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def marketer():
    return client_for(make_user("marketer", role=MARKETER))


@pytest.fixture
def sales():
    return client_for(make_user("sales", role=SALES))


def send(client: APIClient, method: str, url: str, body) -> object:
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, raw, content_type="application/json")


def test_create_read_update_and_delete_a_segment(marketer):
    make_lead("a@x.jp", title="営業部長", stage="mql"), make_lead("b@x.jp", title="部長", stage="lead")
    created = send(marketer, "post", SEGMENTS, {"name": "部長", "conditions": [TITLE_BUCHO]})
    assert created.status_code == 201 and created.json()["match"] == "all"
    url = f"{SEGMENTS}{created.json()['id']}/"
    assert marketer.get(url + "count/").json() == {"count": 2}
    changed = send(marketer, "patch", url, {"conditions": [TITLE_BUCHO, {"field": "stage", "op": "in",
                                                                         "value": ["mql"]}]})  # fmt: skip
    assert changed.status_code == 200 and marketer.get(url + "count/").json() == {"count": 1}
    assert [lead["email"] for lead in marketer.get(url + "members/").json()["results"]] == ["a@x.jp"]
    assert marketer.get(SEGMENTS).json()["count"] == 1
    assert marketer.delete(url).status_code == 204 and not Segment.objects.exists()


def test_changing_only_the_match_revalidates_the_stored_conditions(marketer):
    segment = Segment.objects.create(name="s", conditions=[TITLE_BUCHO])
    response = send(marketer, "patch", f"{SEGMENTS}{segment.pk}/", {"match": "maybe"})
    assert response.status_code == 400 and "match" in response.json()
    assert send(marketer, "patch", f"{SEGMENTS}{segment.pk}/", {"match": "any"}).status_code == 200


def test_count_of_an_unsaved_definition(marketer, sales):
    clicker = make_lead("c@x.jp")
    make_activity(clicker, Activity.Kind.EMAIL_CLICKED, campaign_id=4)
    body = {"match": "any", "conditions": [{"field": "clicked", "op": "did", "value": 4, "days": 30}]}
    assert send(marketer, "post", SEGMENTS + "count/", body).json() == {"count": 1}
    assert send(sales, "post", SEGMENTS + "count/", body).json() == {"count": 1}  # counting is reading


def test_sales_may_read_segments_and_lists_but_not_change_them(sales):
    segment, lead_list = Segment.objects.create(name="s"), LeadList.objects.create(name="l")
    lead = make_lead("a@x.jp")
    assert sales.get(f"{SEGMENTS}{segment.pk}/count/").status_code == 200
    assert sales.get(f"{LISTS}{lead_list.pk}/members/").status_code == 200
    assert send(sales, "post", SEGMENTS, {"name": "x"}).status_code == 403
    assert send(sales, "post", f"{LISTS}{lead_list.pk}/members/", {"ids": [lead.pk]}).status_code == 403
    assert send(sales, "delete", f"{LISTS}{lead_list.pk}/members/", {"ids": [lead.pk]}).status_code == 403


def test_anonymous_and_roleless_users_get_nothing():
    assert APIClient().get(SEGMENTS).status_code == 401
    assert client_for(make_user("nobody")).get(LISTS).status_code == 403


@pytest.mark.parametrize(
    "conditions, expected",
    [
        ([{"field": "salary", "op": "gt", "value": 1}], "Condition 1: unknown field “salary”."),
        ([{"field": "score", "op": "gt", "value": "1; DROP TABLE leads_lead"}], "the value must be a number."),
        ([{"field": "score", "op": "between", "value": 1}], "operator “between” is not one of"),
        ([{"match": "any", "conditions": [{"match": "all", "conditions": []}]}], "nested one level only"),
        ([TITLE_BUCHO] * 101, "A segment has at most 100 conditions."),
        ("title contains 部長", "The segment: conditions must be a list."),
        ([[1, 2]], "Condition 1: must be an object with field, op and value."),
    ],
)
def test_wrong_conditions_are_400_with_the_reason(marketer, conditions, expected):
    response = send(marketer, "post", SEGMENTS, {"name": "x", "conditions": conditions})
    assert response.status_code == 400 and any(expected in problem for problem in response.json()["conditions"])
    response = send(marketer, "post", SEGMENTS + "count/", {"conditions": conditions})
    assert response.status_code == 400 and any(expected in problem for problem in response.json()["conditions"])
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    "body, status",
    [
        ({"name": "x", "conditions": [TITLE_BUCHO] * 10_000}, 413),
        ('{"name": "x", "conditions": ' + "[" * 20_000 + "]" * 20_000 + "}", 400),
        ("{not json", 400),
        ({"name": "x", "owner": 1}, 400),
        ({"name": "x" * 201}, 400),
        ({"name": None}, 400),
        ([1, 2, 3], 400),
    ],
)
def test_hostile_and_huge_bodies_are_refused_never_a_500(marketer, body, status):
    assert send(marketer, "post", SEGMENTS, body).status_code == status
    assert not Segment.objects.exists()


def test_sql_in_values_is_data(marketer):
    make_lead("a@x.jp", title="' OR '1'='1")
    body = {"conditions": [{"field": "title", "op": "is", "value": "' OR '1'='1"}]}
    assert send(marketer, "post", SEGMENTS + "count/", body).json() == {"count": 1}
    body = {"conditions": [{"field": "title", "op": "is", "value": "x' OR '1'='1"}]}
    assert send(marketer, "post", SEGMENTS + "count/", body).json() == {"count": 0}


def test_lists_crud_with_member_counts_in_one_query(marketer, django_assert_max_num_queries):
    created = send(marketer, "post", LISTS, {"name": "展示会", "kind": "suppression"})
    assert created.status_code == 201 and created.json()["kind"] == "suppression"
    for n in range(5):
        ListMembership.objects.create(lead_list=LeadList.objects.create(name=f"l{n}"), lead=make_lead(f"{n}@x.jp"))
    with django_assert_max_num_queries(6):  # auth token, user, permissions, count, page
        listed = marketer.get(LISTS).json()
    assert [row["member_count"] for row in listed["results"]] == [0, 1, 1, 1, 1, 1]
    assert send(marketer, "post", LISTS, {"name": "x", "kind": "dynamic"}).status_code == 400


def test_members_are_added_and_removed_by_id_or_email_reporting_what_matched_nothing(marketer):
    a, b = make_lead("a@x.jp"), make_lead("Taro@Example.jp")
    lead_list = LeadList.objects.create(name="l")
    url = f"{LISTS}{lead_list.pk}/members/"
    added = send(marketer, "post", url, {"ids": [a.pk, 999], "emails": ["taro@example.jp", "who@x.jp"]})
    assert added.json() == {"added": 2, "missing": [999, "who@x.jp"]}
    assert send(marketer, "post", url, {"ids": [a.pk]}).json() == {"added": 0, "missing": []}
    membership = ListMembership.objects.get(lead=b)
    assert membership.source == "api" and membership.added_by.username == "marketer"
    assert [lead["email"] for lead in marketer.get(url).json()["results"]] == ["a@x.jp", "Taro@Example.jp"]
    assert send(marketer, "delete", url, {"emails": ["a@x.jp"]}).json() == {"removed": 1, "missing": []}
    assert list(lead_list.members.all()) == [b]


def test_ten_thousand_members_in_one_request(marketer):
    Lead.objects.bulk_create([Lead(email=f"u{n}@x.jp", email_key=f"u{n}@x.jp") for n in range(10_000)])
    lead_list = LeadList.objects.create(name="big")
    emails = [f"u{n}@x.jp" for n in range(10_000)]
    response = send(marketer, "post", f"{LISTS}{lead_list.pk}/members/", {"emails": emails})
    assert response.json() == {"added": 10_000, "missing": []}
    too_many = send(marketer, "post", f"{LISTS}{lead_list.pk}/members/", {"emails": emails, "ids": [1]})
    assert too_many.status_code == 400 and "at most 10000" in too_many.json()["ids"][0]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "ids"),
        ({"ids": ["1"]}, "ids"),
        ({"ids": [True]}, "ids"),
        ({"ids": [-1]}, "ids"),
        ({"ids": [2**64]}, "ids"),
        ({"emails": [1]}, "emails"),
        ({"emails": "a@x.jp"}, "emails"),
        ({"emails": ["x" * 255]}, "emails"),
        ({"lead_ids": [1]}, "lead_ids"),
    ],
)
def test_wrong_member_bodies_are_400_naming_the_field(marketer, body, field):
    lead_list = LeadList.objects.create(name="l")
    response = send(marketer, "post", f"{LISTS}{lead_list.pk}/members/", body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not ListMembership.objects.exists()


def test_a_members_body_over_a_megabyte_is_413(marketer):
    lead_list = LeadList.objects.create(name="l")
    body = {"emails": ["x" * 200 + "@x.jp"] * 6_000}
    assert send(marketer, "post", f"{LISTS}{lead_list.pk}/members/", body).status_code == 413


def test_unknown_segment_or_list_is_404(marketer):
    assert marketer.get(f"{SEGMENTS}999/count/").status_code == 404
    assert send(marketer, "post", f"{LISTS}999/members/", {"ids": [1]}).status_code == 404
