"""Every workspace URL and every /api/v1/opportunities/ call, for every role, with the status each must get."""

import json
from datetime import date, timedelta

import pytest
from rest_framework.authtoken.models import Token

from sales.models import Opportunity
from tests.factories import make_opportunity
from tests.sales.helpers import ROLES, hot_lead, users

pytestmark = pytest.mark.django_db

CLOSE = (date.today() + timedelta(days=30)).isoformat()
TERMS = {"name": "案件", "amount": "1000", "expected_close": CLOSE}
# name: (method, url template, form data, statuses in ROLES order: anonymous, sales, other_sales, marketer, superuser)
# {lead} is a hot lead owned by "sales", {opp} an opportunity of "sales".
LOGIN = 302
WORKSPACE = {
    "list": ("get", "/sales/", None, (LOGIN, 200, 200, 200, 200)),
    "list filtered": ("get", "/sales/?owner=mine&new=1&q=x", None, (LOGIN, 200, 200, 200, 200)),
    "export": ("get", "/sales/export.csv", None, (LOGIN, 200, 200, 200, 200)),
    "lead": ("get", "/sales/leads/{lead}/", None, (LOGIN, 200, 200, 200, 200)),
    "claim": ("post", "/sales/leads/{lead}/claim/", {}, (LOGIN, 302, 302, 302, 302)),
    "reassign": ("post", "/sales/leads/{lead}/reassign/", {"owner": "{other}"}, (LOGIN, 302, 403, 302, 302)),
    "note": ("post", "/sales/leads/{lead}/notes/", {"kind": "call", "body": "電話"}, (LOGIN, 302, 302, 302, 302)),
    "hand back": ("post", "/sales/leads/{lead}/hand-back/", {"kind": "recycle", "reason": "timing"},
                  (LOGIN, 302, 403, 302, 302)),
    "convert form": ("get", "/sales/leads/{lead}/convert/", None, (LOGIN, 200, 200, 200, 200)),
    "convert": ("post", "/sales/leads/{lead}/convert/", TERMS, (LOGIN, 302, 302, 302, 302)),
    "opportunities": ("get", "/sales/opportunities/", None, (LOGIN, 200, 200, 200, 200)),
    "opportunity": ("get", "/sales/opportunities/{opp}/", None, (LOGIN, 200, 404, 200, 200)),
    "opportunity edit": ("post", "/sales/opportunities/{opp}/", TERMS, (LOGIN, 302, 404, 302, 302)),
    "opportunity stage": ("post", "/sales/opportunities/{opp}/stage/", {"stage": "won"}, (LOGIN, 302, 404, 302, 302)),
}  # fmt: skip
API = {
    "api list": ("get", "/api/v1/opportunities/", None, (401, 200, 200, 200, 200)),
    "api create": ("post", "/api/v1/opportunities/", {"lead": "{lead}", **TERMS}, (401, 201, 201, 201, 201)),
    "api detail": ("get", "/api/v1/opportunities/{opp}/", None, (401, 200, 404, 200, 200)),
    "api update": ("patch", "/api/v1/opportunities/{opp}/", {"stage": "deal"}, (401, 200, 404, 200, 200)),
    "api put": ("put", "/api/v1/opportunities/{opp}/", {"amount": "5"}, (401, 200, 404, 200, 200)),
    # No delete: sales lacks the permission (403), the others reach a method that is not there (405).
    "api delete": ("delete", "/api/v1/opportunities/{opp}/", None, (401, 403, 403, 405, 405)),
}


def fill(value, ids: dict):
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


def cases(table: dict):
    return [
        pytest.param(name, role, status, id=f"{name}-{role}")
        for name, (_m, _u, _d, statuses) in table.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ]


@pytest.fixture
def world():
    people = users()
    lead = hot_lead(owner=people["sales"])
    opp = make_opportunity(hot_lead("opp@example.co.jp", owner=people["sales"]), people["sales"])
    return people, {"lead": lead.pk, "opp": opp.pk, "other": people["other_sales"].pk}


@pytest.mark.parametrize(("name", "role", "status"), cases(WORKSPACE))
def test_workspace_url_for_role(client, world, name, role, status):
    people, ids = world
    method, url, data, _statuses = WORKSPACE[name]
    if people[role]:
        client.force_login(people[role])
    response = (
        getattr(client, method)(fill(url, ids), fill(data, ids)) if data is not None else client.get(fill(url, ids))
    )
    assert response.status_code == status
    if status == LOGIN and role == "anonymous":
        assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(("name", "role", "status"), cases(API))
def test_opportunity_api_for_role(client, world, name, role, status):
    people, ids = world
    method, url, data, _statuses = API[name]
    headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=people[role]).key}"} if people[role] else {}
    body = json.dumps(fill(data, ids)) if data is not None else None
    response = getattr(client, method)(fill(url, ids), body, content_type="application/json", **headers)
    assert response.status_code == status, response.content
    if status == 200 and name == "api list" and role in ("sales", "other_sales"):
        owners = {row["owner"] for row in response.json()["results"]}
        assert owners <= {people[role].username}


def test_an_opportunity_stays_unchanged_when_another_sales_user_tries(client, world):
    people, ids = world
    client.force_login(people["other_sales"])
    client.post(f"/sales/opportunities/{ids['opp']}/stage/", {"stage": "lost"})
    assert Opportunity.objects.get(pk=ids["opp"]).stage == "opportunity"


def test_a_user_without_a_role_is_refused(client):
    from tests.factories import make_user

    client.force_login(make_user("nobody", staff=True))
    assert client.get("/sales/").status_code == 403
    token = Token.objects.create(user=make_user("nobody2")).key
    assert client.get("/api/v1/opportunities/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 403


@pytest.mark.parametrize(
    "url", ["/admin/sales/webhookendpoint/add/", "/admin/scoring/scoringrule/add/", "/admin/campaigns/campaign/"]
)
def test_sales_users_cannot_change_settings_campaigns_or_rules(client, url):
    from mautomation.roles import SALES
    from tests.factories import make_user

    client.force_login(make_user("staffsales", role=SALES, staff=True))  # even as staff
    assert client.get(url).status_code == 403


def test_a_sales_user_logs_in_without_the_admin_and_lands_on_the_hot_leads(client):
    users()
    response = client.post("/accounts/login/", {"username": "sales1", "password": "pw-sales1"})
    assert response.status_code == 302 and response["Location"] == "/sales/"
    assert client.get("/sales/").status_code == 200
    client.logout()
    assert client.post("/accounts/login/", {"username": "sales1", "password": "wrong"}).status_code == 200
    assert client.get("/sales/").status_code == 302


def test_a_staff_sales_user_sees_only_their_own_opportunities_in_the_admin(client):
    from mautomation.roles import SALES
    from tests.factories import make_user

    people = users()
    staff_sales = make_user("staffsales", role=SALES, staff=True)
    mine = make_opportunity(hot_lead("a@example.co.jp"), staff_sales, name="自分の案件")
    theirs = make_opportunity(hot_lead("b@example.co.jp"), people["other_sales"], name="他人の案件")
    client.force_login(staff_sales)
    listing = client.get("/admin/sales/opportunity/").content.decode()
    assert "自分の案件" in listing and "他人の案件" not in listing
    assert client.get(f"/admin/sales/opportunity/{theirs.pk}/change/").status_code == 302  # "not found", to the index
    assert client.get(f"/admin/sales/opportunity/{mine.pk}/change/").status_code == 200
    assert client.get("/admin/sales/opportunity/add/").status_code == 403
