"""Claiming, reassigning, notes, and returning a lead to marketing with a reason."""

import pytest
from django.core import mail

from leads.models import Activity, Lead
from sales.handover import claim, hand_back
from sales.models import Handback
from scoring.models import ScoringSettings
from tests.sales.helpers import hot_lead, users
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db


def test_claim_takes_an_unowned_lead_but_not_a_colleagues():
    people = users()
    lead = hot_lead()
    assert claim(lead=lead, user=people["sales"])
    assert not claim(lead=lead, user=people["other_sales"])
    assert Lead.objects.get(pk=lead.pk).owner == people["sales"]


def test_returning_a_lead_sends_it_back_to_nurturing_with_its_reason_and_a_zero_score():
    people = users()
    lead = hot_lead(score=60, owner=people["sales"])
    handback = hand_back(lead=lead, user=people["sales"], kind="recycle", reason="timing", comment="来期検討")
    lead.refresh_from_db()
    assert (lead.stage, lead.mql_at, lead.score) == (Lead.Stage.LEAD, None, 0)
    assert (handback.score_before, handback.reason, handback.by) == (60, "timing", people["sales"])
    # The ledger keeps why it was hot, and says why it is no longer.
    assert list(lead.score_entries.order_by("pk").values_list("points", flat=True)) == [60, -60]
    change = lead.activities.get(kind=Activity.Kind.STAGE_CHANGED)
    assert change.data == {"from": "mql", "to": "lead", "handback": "recycle", "reason": "timing"}


def test_a_recycled_lead_that_heats_up_again_is_a_new_hot_lead_with_a_new_alert(django_capture_on_commit_callbacks):
    people = users()
    people["sales"].email = "sales1@example.com"
    people["sales"].save()
    ScoringSettings.objects.update_or_create(pk=1, defaults={"hot_threshold": 20})
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20, frequency="every")
    lead = Lead.objects.create(email="again@example.co.jp")
    with django_capture_on_commit_callbacks(execute=True):
        event(lead, Activity.Kind.FORM_SUBMIT)
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.MQL
    hand_back(lead=lead, user=people["sales"], kind="recycle", reason="timing")
    with django_capture_on_commit_callbacks(execute=True):
        event(lead, Activity.Kind.FORM_SUBMIT)
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.MQL and lead.mql_at is not None
    assert len(mail.outbox) == 2


def test_marketers_see_the_reasons_in_the_admin(client):
    people = users()
    lead = hot_lead(owner=people["sales"])
    hand_back(lead=lead, user=people["sales"], kind="disqualify", reason="competitor", comment="他社に決定")
    client.force_login(people["marketer"])
    response = client.get("/admin/sales/handback/")
    assert response.status_code == 200
    assert "他社に決定" in response.content.decode()
    assert Handback.objects.count() == 1
