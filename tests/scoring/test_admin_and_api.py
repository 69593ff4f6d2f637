"""Rules are edited by marketers in the admin and over the API; bad rules are refused with a reason."""

import pytest
from rest_framework.authtoken.models import Token

from leads.models import Activity
from mautomation.roles import MARKETER, SALES
from scoring.models import ScoringRule
from tests.factories import make_lead, make_user
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/scoring/scoringrule/add/"


def rule_form(**overrides) -> dict:
    return {"name": "pricing", "event_kind": "page_view", "points": "10", "frequency": "every", "active": "on",
            "url_match": "contains", "url_pattern": "/pricing/", "form_id": "", "campaign_id": "", "event_name": "",
            **overrides}  # fmt: skip


def test_marketer_adds_a_rule_in_the_admin(client):
    client.force_login(make_user("m", role=MARKETER))
    response = client.post(ADD_URL, rule_form())
    assert response.status_code == 302
    assert ScoringRule.objects.get(name="pricing").points == 10


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url_match": "regex", "url_pattern": "([a-z]+"}, "This is not a valid regular expression"),
        ({"event_kind": "form_submit"}, "Only page views, downloads and email clicks have a URL."),
        ({"points": "0"}, "A rule must give or take at least one point."),
    ],
)
def test_admin_refuses_a_bad_rule_with_its_reason(client, overrides, message):
    client.force_login(make_user("m", role=MARKETER))
    response = client.post(ADD_URL, rule_form(**overrides), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ScoringRule.objects.exists()


def test_sales_cannot_open_rule_editing(client):
    client.force_login(make_user("s", role=SALES))
    assert client.get(ADD_URL).status_code == 403


def test_lead_page_shows_the_ledger(client):
    rule("事例ページ閲覧", points=5)
    lead = make_lead()
    event(lead, url="/case-studies/<script>")
    client.force_login(make_user("m", role=MARKETER))
    page = client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    assert 'id="score_entries-group"' in page
    assert "事例ページ閲覧" in page


def test_settings_list_opens_the_single_settings_row(client):
    client.force_login(make_user("admin", superuser=True))
    response = client.get("/admin/scoring/scoringsettings/")
    assert response.status_code == 302 and response["Location"].endswith("/scoringsettings/1/change/")


def test_company_scores_are_the_sum_of_their_leads(client):
    from leads.models import Company

    corp = Company.objects.create(name="Corp", domain="corp.example")
    make_lead("a@corp.example", company=corp, score=30)
    make_lead("b@corp.example", company=corp, score=25)
    client.force_login(make_user("admin", superuser=True))
    page = client.get("/admin/scoring/companyscore/").content.decode()
    assert ">55<" in page


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}


def test_api_creates_and_lists_rules(client):
    headers = auth(make_user("m", role=MARKETER))
    body = {"name": "doc", "event_kind": "form_submit", "points": 20}
    created = client.post("/api/v1/scoring-rules/", body, content_type="application/json", **headers)
    assert created.status_code == 201 and created.json()["frequency"] == "every"
    listed = client.get("/api/v1/scoring-rules/", **headers).json()["results"]
    assert [r["name"] for r in listed] == ["doc"]


def test_api_refuses_bad_rules_with_the_field(client):
    body = {"name": "r", "event_kind": "page_view", "points": 5, "url_match": "regex", "url_pattern": "("}
    headers = {**auth(make_user("m", role=MARKETER)), "HTTP_ACCEPT_LANGUAGE": "en"}
    response = client.post("/api/v1/scoring-rules/", body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert "not a valid regular expression" in response.json()["url_pattern"][0]


def test_api_lets_sales_read_but_not_write(client):
    rule("view")
    headers = auth(make_user("s", role=SALES))
    assert client.get("/api/v1/scoring-rules/", **headers).status_code == 200
    body = {"name": "x", "event_kind": "page_view", "points": 1}
    assert client.post("/api/v1/scoring-rules/", body, content_type="application/json", **headers).status_code == 403


def test_api_delete_of_a_rule_with_points_deactivates_it(client):
    used = rule("view")
    event(make_lead(), Activity.Kind.PAGE_VIEW, url="/x")
    response = client.delete(f"/api/v1/scoring-rules/{used.pk}/", **auth(make_user("m", role=MARKETER)))
    assert response.status_code == 204
    assert ScoringRule.objects.get(pk=used.pk).active is False


def test_anonymous_api_access_is_refused(client):
    assert client.get("/api/v1/scoring-rules/").status_code == 401
