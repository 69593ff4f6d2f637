"""SQL injection strings through every admin search, filter and ordering, the workspace, the API's query
parameters and every segment condition: never a 500, nothing leaked, matched as the literal text they are."""

import json
import re
from html import unescape

import pytest
from django.contrib import admin
from django.urls import reverse

from leads.conditions import FIELDS, OPERATORS
from leads.models import CustomField, Lead
from tests.factories import make_lead
from tests.security import world
from tests.security.outcomes import client_for

pytestmark = pytest.mark.django_db

INJECTIONS = [
    "' OR '1'='1", "1' OR 1=1 --", '" OR ""="', "1; DROP TABLE leads_lead; --", "') OR ('x'='x",
    "1 UNION SELECT password FROM auth_user --", "%' OR '%'='", "\\", "０' OR １=１ --", "\x00",
]  # fmt: skip
LEAK = "md5$"  # the test password hasher's prefix: a hash on any page is a leak
QUERY_LINK = re.compile(r'href="\?([^"#]*)"')


def changelists() -> list[tuple[str, bool]]:
    """Each admin list page, and whether it has a search box."""
    return [
        (reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"), bool(model_admin.search_fields))
        for model, model_admin in admin.site._registry.items()
    ]


def filter_params(client, url: str) -> set[str]:
    """The query parameters the changelist's own filter and sort links use."""
    names = {"q", "o", "p"}
    for query in QUERY_LINK.findall(client.get(url).content.decode()):
        names |= {pair.split("=")[0] for pair in unescape(query).split("&") if pair}
    return names - {"_changelist_filters", "e"}


def assert_safe(response, *, statuses=(200, 302, 400)) -> None:
    assert response.status_code in statuses, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert LEAK not in body.decode(errors="replace")


def test_admin_changelists_take_injections_in_search_filters_and_ordering():
    people = world.users()
    world.build(people)
    client = client_for(people["superuser"])
    for url, searchable in changelists():
        for name in filter_params(client, url):
            for value in INJECTIONS if name == "q" and searchable else [*INJECTIONS[:2], "\x00"]:
                response = client.get(url, {name: value})
                assert_safe(response)
                if value == "\x00":  # refused before the admin: SQLite's LIKE stops at it, PostgreSQL fails on it
                    assert response.status_code == 400, (url, name)
                elif name == "q" and searchable:
                    assert response.context["cl"].result_count == 0, (url, value)


def test_an_injection_string_is_searched_as_literal_text():
    people = world.users()
    make_lead("other@example.co.jp", last_name="山田")
    for value in INJECTIONS[:-1]:
        lead = make_lead(f"lit{len(value)}{INJECTIONS.index(value)}@example.co.jp", last_name=value)
        response = client_for(people["superuser"]).get("/admin/leads/lead/", {"q": value})
        assert list(response.context["cl"].result_list) == [lead]
        lead.delete()


@pytest.mark.parametrize("name", ["q", "company", "stage", "owner", "new", "page"])
def test_the_workspace_filters_take_injections(name):
    people = world.users()
    world.build(people)
    client = client_for(people["sales"])
    for value in INJECTIONS:
        response = client.get("/sales/", {name: value})
        assert_safe(response)
        if name in ("q", "company") and response.status_code == 200:  # 400: the text was refused and dropped
            assert response.context["rows"] == []
        assert_safe(client.get("/sales/export.csv", {name: value}))


API_LISTS = [
    "/api/v1/leads/", "/api/v1/segments/", "/api/v1/lists/", "/api/v1/scoring-rules/", "/api/v1/forms/",
    "/api/v1/opportunities/", "/api/v1/sequences/", "/api/v1/campaigns/", "/api/v1/reports/kpis/",
]  # fmt: skip
LEAD_PARAMS = [
    "email", "stage", "owner", "company", "email_status", "tag", "score_min", "score_max", "updated_since",
    "page", "page_size", "ordering", "search", "custom.budget", "custom.x' OR 1=1",
]  # fmt: skip


def test_the_apis_query_parameters_take_injections():
    people = world.users()
    objects = world.build(people)
    client = client_for(people["superuser"])
    urls = [*API_LISTS, f"/api/v1/reports/campaigns/{objects['campaigns.campaign']}/"]
    for url in urls:
        for name in LEAD_PARAMS if url == "/api/v1/leads/" else ["page", "ordering", "search", "start", "open"]:
            for value in INJECTIONS:
                response = client.get(url, {name: value})
                assert_safe(response, statuses=(200, 400, 404) if name == "page" else (200, 400))
                if response.status_code == 200 and url == "/api/v1/leads/" and not name.startswith("page"):
                    assert response.json()["results"] == [], (name, value)


NEUTRAL = "zz-nothing-like-this"


def conditions() -> list[tuple[dict, dict]]:
    """Every field with every operator of its kind: an injection value, and a harmless literal of the same shape."""
    found = []
    for field, spec in FIELDS.items():
        for op in OPERATORS[spec.kind]:
            for value, neutral in (("' OR '1'='1", NEUTRAL), (["') OR 1=1 --"], [NEUTRAL])):
                found.append(({"field": field, "op": op, "value": value}, {"field": field, "op": op, "value": neutral}))
    for key in ("x' OR '1'='1", "budget') OR 1=1 --", "__class__"):
        injected = {"field": f"custom.{key}", "op": "contains", "value": "x"}
        found.append((injected, {**injected, "field": "custom.zz"}))
    return found


def count(client, condition: dict) -> tuple[int, object]:
    body = json.dumps({"match": "all", "conditions": [condition]})
    response = client.post("/api/v1/segments/count/", body, content_type="application/json")
    assert response.status_code in (200, 400), (condition, response.status_code)
    return response.status_code, response.json()


def test_every_segment_condition_counts_an_injection_as_it_would_a_literal():
    people = world.users()
    world.build(people)
    CustomField.objects.create(key="x", label="x")
    client = client_for(people["marketer"])
    assert Lead.objects.exists()
    for injected, neutral in conditions():
        (status, answer), (expected_status, expected) = count(client, injected), count(client, neutral)
        if status == 200:
            assert (status, answer) == (expected_status, expected), (injected, answer, expected)
        else:  # refused, with the condition named
            assert "Condition 1" in json.dumps(answer, ensure_ascii=False), (injected, answer)
