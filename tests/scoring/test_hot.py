"""Crossing the threshold: MQL, an owner, and exactly one alert per crossing."""

import json

import pytest
from django.core import mail

from leads.models import Activity, Company, Lead
from mautomation.roles import MARKETER, SALES
from scoring import alerts
from scoring.models import ScoringSettings
from tests.factories import make_lead, make_user
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(django_capture_on_commit_callbacks):
    ScoringSettings.objects.update_or_create(pk=1, defaults={"hot_threshold": 20})
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20)
    rule("view", points=5)
    return django_capture_on_commit_callbacks


def hot_event(lead: Lead, capture) -> None:
    with capture(execute=True):
        event(lead, Activity.Kind.FORM_SUBMIT)


def test_crossing_makes_an_mql_with_an_owner_and_one_alert(setup):
    sales = make_user("sales1", role=SALES)
    sales.email = "sales1@example.com"
    sales.save()
    lead = make_lead(last_name="山田", first_name="太郎", company_name="株式会社テスト")
    hot_event(lead, setup)
    with setup(execute=True):
        event(lead, url="/pricing/")
        event(lead, url="/case-studies/")
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.score) == (Lead.Stage.MQL, sales, 30)
    assert lead.mql_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sales1@example.com"]
    assert "山田 太郎" in mail.outbox[0].subject and "資料請求" in mail.outbox[0].body
    assert lead.activities.filter(kind=Activity.Kind.STAGE_CHANGED).count() == 1


def test_round_robin_alternates_between_sales_users(setup):
    first, second = make_user("s1", role=SALES), make_user("s2", role=SALES)
    owners = []
    for n in range(4):
        lead = make_lead(f"lead{n}@example.com")
        hot_event(lead, setup)
        owners.append(Lead.objects.get(pk=lead.pk).owner)
    assert owners == [first, second, first, second]


def test_company_owner_rule_prefers_the_owner_of_the_company(setup):
    ScoringSettings.objects.filter(pk=1).update(owner_rule=ScoringSettings.OwnerRule.COMPANY_OWNER)
    make_user("s1", role=SALES)
    account_owner = make_user("s2", role=SALES)
    corp = Company.objects.create(name="Corp", domain="corp.example")
    make_lead("a@corp.example", owner=account_owner, company=corp)
    lead = make_lead("b@corp.example", company=corp)
    hot_event(lead, setup)
    assert Lead.objects.get(pk=lead.pk).owner == account_owner


def test_fit_requirement_holds_back_a_high_score_with_a_poor_fit(setup):
    ScoringSettings.objects.filter(pk=1).update(fit_threshold=10)
    lead = make_lead()
    hot_event(lead, setup)
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.LEAD and lead.mql_at is None and mail.outbox == []


def test_later_stages_are_not_demoted(setup):
    lead = make_lead(stage=Lead.Stage.OPPORTUNITY)
    hot_event(lead, setup)
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.OPPORTUNITY


def test_without_sales_users_marketers_are_alerted(setup):
    marketer = make_user("m", role=MARKETER)
    marketer.email = "m@example.com"
    marketer.save()
    hot_event(make_lead(), setup)
    assert [m.to for m in mail.outbox] == [["m@example.com"]]


def test_webhook_gets_a_slack_compatible_body(setup, monkeypatch):
    ScoringSettings.objects.filter(pk=1).update(webhook_url="https://hooks.example.com/x")
    posted = []

    class Ok:
        def raise_for_status(self) -> None:
            return None

    monkeypatch.setattr(alerts.requests, "post", lambda url, json, timeout: posted.append((url, json)) or Ok())
    hot_event(make_lead(last_name="<b>山田</b>"), setup)
    [(url, body)] = posted
    assert url == "https://hooks.example.com/x"
    assert set(body) == {"text"} and "<b>山田</b>" in body["text"] and "資料請求" in body["text"]
    assert json.dumps(body)


def test_recycled_lead_can_cross_again(setup):
    owner = make_user("s1", role=SALES)
    owner.email = "s1@example.com"
    owner.save()
    lead = make_lead()
    hot_event(lead, setup)
    Lead.objects.filter(pk=lead.pk).update(mql_at=None, stage=Lead.Stage.LEAD)
    with setup(execute=True):
        event(lead, url="/again")
    assert len(mail.outbox) == 2
