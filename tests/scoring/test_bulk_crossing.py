"""A rescore that makes many leads hot: each crosses once, owners rotate, and sales gets one summary each."""

import re

import pytest
from django.core import mail

from leads.models import Activity, Company, Lead
from mautomation.roles import MARKETER, SALES
from scoring import alerts
from scoring.models import FitRule, ScoringSettings
from scoring.rescore import rescore
from tests.factories import make_activity, make_lead, make_user
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db
STAGE_CHANGED = Activity.Kind.STAGE_CHANGED


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """rescore() with its after-commit work (summaries, stage-change dispatch) run, as in a real transaction."""
    ScoringSettings.objects.update_or_create(pk=1, defaults={"hot_threshold": 20})
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20)

    def run_rescore() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return rescore().newly_hot

    return run_rescore


def seller(name: str, email: bool = True):
    user = make_user(name, role=SALES)
    user.email = f"{name}@example.com" if email else ""
    user.save()
    return user


def hot_lead(email: str, **fields) -> Lead:
    """A lead whose document request was recorded but never scored: only a rescore makes it hot."""
    lead = make_lead(email, **fields)
    make_activity(lead, Activity.Kind.FORM_SUBMIT)
    return lead


def count_in(text: str) -> str:
    """The number of leads a summary announces (the first number after the product's name)."""
    return re.search(r"\d+", text.removeprefix("[mautomation]")).group()


def owners(leads: list[Lead]) -> list:
    return [Lead.objects.get(pk=lead.pk).owner for lead in leads]


def test_each_hot_lead_becomes_an_mql_once_and_each_owner_gets_one_summary(run):
    first, second = seller("s1"), seller("s2")
    leads = [hot_lead(f"l{n}@example.com", last_name=f"山田{n}") for n in range(5)]
    make_lead("cold@example.com")
    assert run() == 5
    assert owners(leads) == [first, second, first, second, first]
    assert set(Lead.objects.filter(mql_at__isnull=False).values_list("stage", flat=True)) == {Lead.Stage.MQL}
    assert Lead.objects.get(email="cold@example.com").mql_at is None
    changes = Activity.objects.filter(kind=STAGE_CHANGED)
    assert sorted(changes.values_list("lead_id", flat=True)) == [lead.pk for lead in leads]
    assert not changes.filter(processed_at__isnull=True).exists()  # dispatched to the stream's consumers
    assert changes.first().data == {"from": "lead", "to": "mql", "score": 20}
    summaries = sorted((m.to, count_in(m.subject)) for m in mail.outbox)
    assert summaries == [(["s1@example.com"], "3"), (["s2@example.com"], "2")]
    assert "山田0" in mail.outbox[0].body and "/sales/?owner=mine" in mail.outbox[0].body  # the workspace


def test_a_second_rescore_crosses_nobody_again(run):
    seller("s1")
    lead = hot_lead("a@example.com")
    run()
    stamped = Lead.objects.get(pk=lead.pk).mql_at
    assert run() == 0
    assert len(mail.outbox) == 1
    assert Lead.objects.get(pk=lead.pk).mql_at == stamped
    assert Activity.objects.filter(kind=STAGE_CHANGED).count() == 1


def test_an_event_after_the_rescore_does_not_alert_again(run, django_capture_on_commit_callbacks):
    seller("s1")
    lead = hot_lead("a@example.com")
    run()
    with django_capture_on_commit_callbacks(execute=True):
        event(lead, Activity.Kind.FORM_SUBMIT)
    assert len(mail.outbox) == 1


def test_a_recycled_lead_crosses_again_in_a_later_rescore(run):
    seller("s1")
    recycled, kept = hot_lead("a@example.com"), hot_lead("b@example.com")
    run()
    Lead.objects.filter(pk=recycled.pk).update(mql_at=None, stage=Lead.Stage.LEAD)
    assert run() == 1
    assert len(mail.outbox) == 2 and count_in(mail.outbox[1].subject) == "1"
    assert Activity.objects.filter(kind=STAGE_CHANGED, lead=recycled).count() == 2
    assert Activity.objects.filter(kind=STAGE_CHANGED, lead=kept).count() == 1


def test_the_rotation_continues_from_the_stored_turn_across_rescore_and_events(run, django_capture_on_commit_callbacks):
    first, second, third = seller("s1"), seller("s2"), seller("s3")
    ScoringSettings.objects.filter(pk=1).update(last_assigned=first)
    leads = [hot_lead(f"l{n}@example.com") for n in range(4)]
    run()
    assert owners(leads) == [second, third, first, second]
    later = make_lead("later@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        event(later, Activity.Kind.FORM_SUBMIT)
    assert owners([later]) == [third]


def test_a_lead_with_an_owner_keeps_it_and_takes_no_turn(run):
    first, second = seller("s1"), seller("s2")
    owned = hot_lead("owned@example.com", owner=second)
    other = hot_lead("other@example.com")
    run()
    assert owners([owned, other]) == [second, first]


def test_company_owner_rule_in_bulk(run):
    ScoringSettings.objects.filter(pk=1).update(owner_rule=ScoringSettings.OwnerRule.COMPANY_OWNER)
    first, second = seller("s1"), seller("s2")
    owned_corp = Company.objects.create(name="Owned", domain="owned.example")
    new_corp = Company.objects.create(name="New", domain="new.example")
    make_lead("boss@owned.example", company=owned_corp, owner=second)
    colleagues = [hot_lead(f"c{n}@new.example", company=new_corp) for n in range(2)]
    account = hot_lead("x@owned.example", company=owned_corp)
    loner = hot_lead("solo@example.com")
    run()
    # One turn for the new company's two leads, as if they had crossed one after the other.
    assert owners([*colleagues, account, loner]) == [first, first, second, second]


def test_fit_requirement_and_later_stages_in_bulk(run):
    seller("s1")
    ScoringSettings.objects.filter(pk=1).update(fit_threshold=10)
    FitRule.objects.create(name="manager", field=FitRule.Field.TITLE, operator="contains", value="部長", points=10)
    hot_lead("poor@example.com")
    good_fit = hot_lead("good@example.com", title="営業部長")
    hot_lead("opp@example.com", title="営業部長", stage=Lead.Stage.OPPORTUNITY)
    assert run() == 2
    states = {lead.email: (lead.stage, lead.mql_at is not None) for lead in Lead.objects.all()}
    assert states == {
        "poor@example.com": (Lead.Stage.LEAD, False),
        "good@example.com": (Lead.Stage.MQL, True),
        "opp@example.com": (Lead.Stage.OPPORTUNITY, True),  # never demoted, no stage change recorded
    }
    assert list(Activity.objects.filter(kind=STAGE_CHANGED).values_list("lead_id", flat=True)) == [good_fit.pk]


def test_without_sales_users_the_marketers_get_one_summary(run):
    marketer = make_user("m", role=MARKETER)
    marketer.email = "m@example.com"
    marketer.save()
    for n in range(3):
        hot_lead(f"l{n}@example.com")
    run()
    assert [m.to for m in mail.outbox] == [["m@example.com"]]
    assert "/sales/?owner=unassigned" in mail.outbox[0].body


def test_the_webhook_gets_one_message_for_the_whole_rescore(run, monkeypatch):
    seller("s1"), seller("s2")
    ScoringSettings.objects.filter(pk=1).update(webhook_url="https://hooks.example.com/x")
    posted = []

    class Ok:
        def raise_for_status(self) -> None:
            return None

    monkeypatch.setattr(alerts.requests, "post", lambda url, json, timeout: posted.append(json) or Ok())
    for n in range(7):
        hot_lead(f"l{n}@example.com", last_name=f"<b>佐藤{n}</b>")
    run()
    [body] = posted
    assert set(body) == {"text"} and count_in(body["text"]) == "7" and "<b>佐藤0</b>" in body["text"]
    assert body["text"].count("佐藤") == 5  # the top five, not all seven
