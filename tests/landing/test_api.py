"""The forms API: marketers read forms and submissions and move definitions as JSON; sales users may not."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from landing.definitions import export_form
from landing.models import Form, Submission
from mautomation.roles import MARKETER, SALES
from tests.factories import make_user
from tests.landing.form_helpers import FIELDS, make_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; test_definitions checks the Japanese catalogue."""
    with translation.override("en"):
        yield


def api_client(role: str | None = MARKETER, *, superuser: bool = False) -> APIClient:
    user = make_user(f"u-{role}-{superuser}", role=role, superuser=superuser)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def submissions(form: Form, count: int) -> None:
    Submission.objects.bulk_create([Submission(form=form, data={"email": f"p{n}@example.com"}) for n in range(count)])


def test_a_marketer_lists_forms_with_their_submission_counts_in_a_fixed_number_of_queries():
    for slug in ("a", "b", "c"):
        submissions(make_form(slug=slug), 2)
    client = api_client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/forms/")
    assert response.status_code == 200
    assert [(row["slug"], row["submission_count"]) for row in response.json()["results"]] == [
        ("a", 2),
        ("b", 2),
        ("c", 2),
    ]
    assert len(queries) <= 6  # auth, permissions, count, page: never one per form


def test_a_superuser_reads_one_form():
    form = make_form()
    response = api_client(None, superuser=True).get(f"/api/v1/forms/{form.pk}/")
    assert response.status_code == 200 and response.json()["fields"] == FIELDS


def test_sales_users_and_anonymous_callers_may_not_read_forms():
    form = make_form()
    sales = api_client(SALES)
    assert sales.get("/api/v1/forms/").status_code == 403
    assert sales.get(f"/api/v1/forms/{form.pk}/submissions/").status_code == 403
    assert sales.get(f"/api/v1/forms/{form.pk}/export/").status_code == 403
    assert APIClient().get("/api/v1/forms/").status_code == 401


def test_forms_are_read_only_here():
    form = make_form()
    client = api_client()
    assert client.patch(f"/api/v1/forms/{form.pk}/", {"published": False}, format="json").status_code == 405
    assert client.delete(f"/api/v1/forms/{form.pk}/").status_code == 405


def test_submissions_are_paginated_newest_first():
    form = make_form()
    submissions(form, 60)
    response = api_client().get(f"/api/v1/forms/{form.pk}/submissions/")
    body = response.json()
    assert response.status_code == 200 and body["count"] == 60 and len(body["results"]) == 50
    assert body["results"][0]["id"] > body["results"][1]["id"]
    assert api_client(None, superuser=True).get(f"/api/v1/forms/{form.pk}/submissions/?page=2").json()["count"] == 60


def test_export_then_import_makes_an_unpublished_copy():
    form = make_form()
    client = api_client()
    exported = client.get(f"/api/v1/forms/{form.pk}/export/").json()
    assert exported == json.loads(json.dumps(export_form(form)))
    exported["slug"] = "whitepaper-copy"
    response = client.post("/api/v1/forms/import/", exported, format="json")
    assert response.status_code == 201
    assert (response.json()["slug"], response.json()["published"]) == ("whitepaper-copy", False)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"fields": []}, "exactly one email field"),
        ({"fields": [{"key": "email", "type": "email", "label": "x", "required": True, "maps_to": "oops"}]}, "email"),
        ({"fields": "not a list"}, "The fields must be a list."),
        ({"slug": "whitepaper"}, "slug"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"unknown": 1}, "Unknown attributes"),
    ],
)
def test_importing_a_wrong_definition_is_400_with_its_problems(change, expected):
    data = {**export_form(make_form()), **change}
    response = api_client().post("/api/v1/forms/import/", data, format="json")
    assert response.status_code == 400
    assert any(expected in problem for problem in response.json()["problems"]), response.json()


def test_importing_hostile_bodies_is_refused_cleanly():
    client = api_client()
    assert client.post("/api/v1/forms/import/", [1, 2], format="json").status_code == 400
    assert client.post("/api/v1/forms/import/", "{not json", content_type="application/json").status_code == 400
    huge = {**export_form(make_form()), "success_message": "x" * (2 * 1024 * 1024)}
    assert client.post("/api/v1/forms/import/", huge, format="json").status_code == 413
    assert Form.objects.count() == 1


def test_sales_users_may_not_import():
    data = {**export_form(make_form()), "slug": "copy"}
    assert api_client(SALES).post("/api/v1/forms/import/", data, format="json").status_code == 403
