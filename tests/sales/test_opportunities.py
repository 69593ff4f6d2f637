"""Converting a lead: the opportunity, its stage history, its attribution, and the lead's stage following."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Activity, Lead
from sales.models import AttributionTouch, Opportunity
from sales.opportunities import Terms, change_stage, update_terms
from tests.factories import make_activity, make_opportunity
from tests.sales.helpers import hot_lead, users

pytestmark = pytest.mark.django_db


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def test_conversion_makes_the_lead_an_opportunity_owned_by_the_converter():
    people = users()
    lead = hot_lead()
    opportunity = make_opportunity(lead, people["sales"], amount=Decimal("2500000"))
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Lead.Stage.OPPORTUNITY, people["sales"])
    assert (opportunity.stage, opportunity.owner, opportunity.amount) == ("opportunity", people["sales"], 2500000)
    assert list(opportunity.stage_changes.values_list("from_stage", "to_stage")) == [("", "opportunity")]
    change = lead.activities.get(kind=Activity.Kind.STAGE_CHANGED)
    assert change.data == {"from": "mql", "to": "opportunity", "opportunity": opportunity.pk}


def test_won_makes_the_lead_a_customer_and_every_change_is_recorded_with_its_user():
    people = users()
    lead = hot_lead()
    opportunity = make_opportunity(lead, people["sales"])
    assert change_stage(opportunity=opportunity, to=Opportunity.Stage.DEAL, user=people["sales"])
    assert change_stage(opportunity=opportunity, to=Opportunity.Stage.WON, user=people["marketer"])
    assert not change_stage(opportunity=opportunity, to=Opportunity.Stage.WON, user=people["marketer"])
    history = list(opportunity.stage_changes.values_list("from_stage", "to_stage", "by__username"))
    assert history == [("", "opportunity", "sales1"), ("opportunity", "deal", "sales1"), ("deal", "won", "marketer1")]
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.CUSTOMER
    assert Opportunity.objects.get(pk=opportunity.pk).closed_at is not None


def test_a_customer_stays_a_customer_when_a_second_deal_is_lost():
    people = users()
    lead = hot_lead()
    won = make_opportunity(lead, people["sales"])
    change_stage(opportunity=won, to=Opportunity.Stage.WON, user=people["sales"])
    second = make_opportunity(lead, people["sales"], name="upsell")
    change_stage(opportunity=second, to=Opportunity.Stage.LOST, user=people["sales"])
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.CUSTOMER


def test_attribution_keeps_first_and_last_touch_and_every_email_and_form_within_the_window(settings):
    settings.ATTRIBUTION_WINDOW_DAYS = 90
    people = users()
    lead = hot_lead()
    make_activity(lead, Activity.Kind.EMAIL_OPENED, campaign_id=1, occurred_at=days_ago(200))  # first, outside window
    make_activity(lead, Activity.Kind.PAGE_VIEW, occurred_at=days_ago(60))  # no campaign: not a touch
    make_activity(lead, Activity.Kind.EMAIL_CLICKED, campaign_id=2, occurred_at=days_ago(30))
    make_activity(lead, Activity.Kind.FORM_SUBMIT, form_id=7, occurred_at=days_ago(2))  # last before conversion
    make_activity(lead, Activity.Kind.EMAIL_SENT, campaign_id=3, occurred_at=days_ago(1))  # sent is not a touch
    make_activity(lead, Activity.Kind.EMAIL_OPENED, campaign_id=4, occurred_at=timezone.now() + timedelta(hours=1))
    opportunity = make_opportunity(lead, people["sales"])
    touches = {(t.role, t.campaign_id, t.form_id) for t in opportunity.touches.all()}
    assert touches == {
        ("first", 1, None),
        ("last", None, 7),
        ("influence", 2, None),
        ("influence", None, 7),
    }


def test_the_attribution_window_is_a_setting(settings):
    settings.ATTRIBUTION_WINDOW_DAYS = 10
    lead = hot_lead()
    make_activity(lead, Activity.Kind.EMAIL_CLICKED, campaign_id=2, occurred_at=days_ago(30))
    opportunity = make_opportunity(lead, users()["sales"])
    assert not opportunity.touches.filter(role=AttributionTouch.Role.INFLUENCE).exists()
    assert opportunity.touches.filter(role=AttributionTouch.Role.FIRST, campaign_id=2).exists()


def test_a_lead_without_campaign_or_form_touches_has_no_attribution():
    lead = hot_lead()
    make_activity(lead, Activity.Kind.PAGE_VIEW)
    assert make_opportunity(lead, users()["sales"]).touches.count() == 0


def test_changing_terms_saves_them_and_reports_nothing_when_unchanged():
    lead = hot_lead()
    opportunity = make_opportunity(lead, users()["sales"], amount=Decimal(100))
    same = Terms(name=opportunity.name, amount=Decimal(100), expected_close=opportunity.expected_close)
    assert not update_terms(opportunity=opportunity, terms=same)
    bigger = Terms(name="大型案件", amount=Decimal(5000), expected_close=date.today() + timedelta(days=5))
    assert update_terms(opportunity=opportunity, terms=bigger)
    assert Opportunity.objects.get(pk=opportunity.pk).name == "大型案件"
