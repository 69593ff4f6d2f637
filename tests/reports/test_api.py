"""/api/v1/reports/: the same numbers as the pages, validated parameters, precise errors."""

import pytest
from rest_framework.test import APIClient

from mautomation.roles import MARKETER, SALES
from tests.factories import make_user
from tests.reports.helpers import campaign, seed_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(make_user("api", role=MARKETER))
    return client


def test_campaign_report_gives_the_seeds_rates_as_strings(api):
    mail = campaign()
    seed_example(mail.pk)
    body = api.get(f"/api/v1/reports/campaigns/{mail.pk}/").json()
    assert {m: r["value"] for m, r in body["rates"].items()} == {"delivery": "98.0", "open": "20.0", "click": "10.0",
                                                                  "cvr": "1.0"}  # fmt: skip
    assert body["counts"]["sent"] == 5102 and body["delivered"] == 5000
    assert body["rates"]["click"] == {"value": "10.0", "denominator": "opens", "reference": ["6.0", "8.0"],
                                      "comparison": "above"}  # fmt: skip


def test_denominators_are_selected_by_query_parameters(api):
    mail = campaign()
    seed_example(mail.pk)
    body = api.get(f"/api/v1/reports/campaigns/{mail.pk}/?cvr=clicks&open=sent&click=delivered").json()
    assert body["rates"]["cvr"]["value"] == "10.0" and body["rates"]["cvr"]["denominator"] == "clicks"
    assert body["rates"]["open"]["value"] == "19.6" and body["rates"]["click"]["value"] == "2.0"


def test_an_empty_campaign_has_null_rates_not_an_error(api):
    body = api.get(f"/api/v1/reports/campaigns/{campaign().pk}/").json()
    assert set(rate["value"] for rate in body["rates"].values()) == {None}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("cvr=revenue", "cvr", "Select a valid choice. revenue is not one of the available choices."),
        ("open=clicks", "open", "Select a valid choice."),
        ("window_days=0", "window_days", "greater than or equal to 1"),
        ("window_days=9999999999999999999999", "window_days", "less than or equal to 30"),
        ("colour=blue", "colour", "is not a parameter of this report"),
    ],
)
def test_bad_campaign_parameters_are_named(api, query, field, message):
    answer = api.get(f"/api/v1/reports/campaigns/{campaign().pk}/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400
    assert message in answer.json()[field][0]


def test_nul_in_a_parameter_is_a_400(api):
    assert api.get(f"/api/v1/reports/campaigns/{campaign().pk}/?cvr=%00").status_code == 400


@pytest.mark.parametrize("campaign_id", ["987654", "99999999999999999999999"])
def test_unknown_or_absurd_campaign_ids_are_404(api, campaign_id):
    assert api.get(f"/api/v1/reports/campaigns/{campaign_id}/").status_code == 404


def test_kpis_validate_the_month_range(api):
    assert api.get("/api/v1/reports/kpis/?start=2026-01&end=2026-03").json()["months"] == ["2026-01", "2026-02",
                                                                                            "2026-03"]  # fmt: skip
    too_long = api.get("/api/v1/reports/kpis/?start=2001-01&end=2026-01", HTTP_ACCEPT_LANGUAGE="en")
    assert too_long.status_code == 400 and "At most 36 months" in too_long.json()["end"][0]
    reversed_range = api.get("/api/v1/reports/kpis/?start=2026-05&end=2026-01", HTTP_ACCEPT_LANGUAGE="en")
    assert reversed_range.json() == {"end": ["The end is before the start."]}
    assert api.get("/api/v1/reports/kpis/?start=May").status_code == 400


@pytest.mark.parametrize(("role", "status"), [(MARKETER, 200), (SALES, 200), (None, 403)])
def test_reports_api_roles(role, status):
    client = APIClient()
    client.force_authenticate(make_user("u", role=role))
    assert client.get("/api/v1/reports/kpis/").status_code == status


def test_anonymous_clients_get_nothing():
    assert APIClient().get("/api/v1/reports/kpis/").status_code in (401, 403)
