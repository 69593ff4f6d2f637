"""/api/v1/opportunities/: create, read, update, stage changes recorded, precise errors for bad input."""

import json
from datetime import date, timedelta

import pytest
from rest_framework.authtoken.models import Token

from leads.models import Lead
from sales.models import Opportunity
from tests.factories import make_opportunity
from tests.sales.helpers import hot_lead, users

pytestmark = pytest.mark.django_db
CLOSE = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture
def api(client):
    people = users()
    token = Token.objects.create(user=people["sales"]).key

    def call(method: str, url: str, body=None):
        data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        return getattr(client, method)(
            url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="en"
        )

    call.people = people
    return call


def test_create_converts_the_lead_and_answers_with_its_attribution(api):
    lead = hot_lead()
    response = api("post", "/api/v1/opportunities/", {"lead": lead.pk, "name": "API案件", "amount": "300000.50",
                                                       "expected_close": CLOSE})  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["amount"], body["stage"], body["owner"]) == (
        "API案件",
        "300000.50",
        "opportunity",
        "sales1",
    )
    assert body["touches"] == []
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.OPPORTUNITY


def test_updating_the_stage_records_it_and_won_makes_a_customer(api):
    lead = hot_lead()
    opp = make_opportunity(lead, api.people["sales"])
    assert api("patch", f"/api/v1/opportunities/{opp.pk}/", {"stage": "deal", "amount": "10"}).status_code == 200
    assert api("patch", f"/api/v1/opportunities/{opp.pk}/", {"stage": "won"}).json()["stage"] == "won"
    assert list(opp.stage_changes.values_list("to_stage", flat=True)) == ["opportunity", "deal", "won"]
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.CUSTOMER
    assert Opportunity.objects.get(pk=opp.pk).amount == 10


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [({"amount": "-5"}, "amount", "cannot be negative"), ({"amount": "1e15"}, "amount", "cannot exceed"),
     ({"amount": "NaN"}, "amount", "valid number"), ({"amount": 1.005}, "amount", "decimal places"),
     ({"amount": "x"}, "amount", "valid number"), ({"expected_close": "2001-01-01"}, "expected_close", "in the past"),
     ({"expected_close": "31/12/2030"}, "expected_close", "wrong format"), ({"lead": 10**30}, "lead", "does not exist"),
     ({"lead": "99999999999999999999999"}, "lead", "does not exist"), ({"lead": "abc"}, "lead", "Incorrect type"),
     ({"name": ""}, "name", "may not be blank"), ({"name": "x" * 201}, "name", "no more than 200"),
     ({"stage": "closed"}, "stage", "not a valid choice"), ({"colour": "red"}, "colour", "is not a field")],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(api, body, field, message):
    lead = hot_lead()
    full = {"lead": lead.pk, "name": "案件", "amount": "1000", "expected_close": CLOSE, **body}
    response = api("post", "/api/v1/opportunities/", full)
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[]", '"text"', "x" * 70000])
def test_malformed_or_huge_bodies_are_refused_without_a_500(api, raw):
    response = api("post", "/api/v1/opportunities/", raw)
    assert response.status_code in (400, 413)
    assert not Opportunity.objects.exists()


def test_missing_fields_are_named(api):
    response = api("post", "/api/v1/opportunities/", {})
    assert response.status_code == 400
    assert set(response.json()) == {"lead", "name", "amount", "expected_close"}


def test_a_past_close_date_may_stay_when_it_does_not_change(api):
    opp = make_opportunity(hot_lead(), api.people["sales"])
    Opportunity.objects.filter(pk=opp.pk).update(expected_close=date(2020, 1, 1))
    assert (
        api("patch", f"/api/v1/opportunities/{opp.pk}/", {"expected_close": "2020-01-01", "amount": "7"}).status_code
        == 200
    )
    response = api("patch", f"/api/v1/opportunities/{opp.pk}/", {"expected_close": "2020-01-02"})
    assert response.status_code == 400


def test_an_opportunity_cannot_move_to_another_lead(api):
    opp = make_opportunity(hot_lead(), api.people["sales"])
    other = hot_lead("other@example.co.jp")
    response = api("patch", f"/api/v1/opportunities/{opp.pk}/", {"lead": other.pk})
    assert response.status_code == 400 and "another lead" in response.json()["lead"][0]
