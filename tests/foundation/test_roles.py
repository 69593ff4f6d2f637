"""The marketer and sales roles, created by a migration, and what each may open in the admin."""

import pytest
from django.contrib.auth.models import Group

from mautomation.roles import MARKETER, SALES
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def perms(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def test_migrations_create_both_roles():
    assert set(Group.objects.values_list("name", flat=True)) >= {MARKETER, SALES}


def test_marketer_may_configure_every_ma_object():
    assert {"add_scoringrule", "change_campaign", "delete_form", "change_landingpage", "change_lead"} <= perms(MARKETER)


def test_sales_reads_leads_but_cannot_touch_campaigns_or_rules():
    sales = perms(SALES)
    assert {"view_lead", "view_activity"} <= sales
    assert not {"change_campaign", "add_scoringrule", "change_scoringrule", "change_form", "change_lead"} & sales


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        (MARKETER, "/admin/scoring/scoringrule/add/", 200),
        (MARKETER, "/admin/campaigns/campaign/", 200),
        (SALES, "/admin/scoring/scoringrule/add/", 403),
        (SALES, "/admin/campaigns/campaign/", 403),
        (SALES, "/admin/leads/lead/", 200),
        (MARKETER, "/admin/auth/user/", 403),
    ],
)
def test_admin_pages_follow_the_role(client, role, url, status):
    client.force_login(make_user(role, role=role))
    assert client.get(url).status_code == status


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/admin/leads/lead/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
