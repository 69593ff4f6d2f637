"""Events become ledger rows; the lead's score is their sum and never counts an event twice."""

from datetime import timedelta

import pytest
from django.db.models import ProtectedError, Sum
from django.utils import timezone

from leads import stream
from leads.models import Activity
from scoring.ledger import refresh_scores, score_activity
from scoring.models import ScoreEntry, ScoringRule, ScoringSettings
from tests.factories import make_lead
from tests.scoring.helpers import event, rule, score

pytestmark = pytest.mark.django_db
SITE = "https://www.example.com"


def test_seed_examples_score_through_the_stream():
    rule("事例ページ閲覧", url_pattern="/case-studies/", points=5)
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20)
    lead = make_lead()
    event(lead, url=f"{SITE}/case-studies/it/")
    event(lead, url=f"{SITE}/blog/")
    event(lead, Activity.Kind.FORM_SUBMIT, form_id=1)
    assert score(lead) == 25
    assert sorted(lead.score_entries.values_list("reason", "points")) == [("事例ページ閲覧", 5), ("資料請求", 20)]


def test_processing_an_event_twice_scores_once():
    rule("view", points=5)
    lead = make_lead()
    activity = event(lead, url="/x")
    assert stream.process(activity.pk) is False  # already claimed
    score_activity(activity)  # even a consumer run twice (a redelivery) adds nothing
    assert score(lead) == 5
    assert ScoreEntry.objects.count() == 1


@pytest.mark.parametrize(("frequency", "expected"), [("once", 5), ("daily", 10), ("every", 15)])
def test_rule_frequency(frequency, expected):
    rule("view", points=5, frequency=frequency)
    lead = make_lead()
    today = timezone.now()
    for at in (today, today - timedelta(minutes=1), today - timedelta(days=2)):
        event(lead, url="/x", at=at)
    assert score(lead) == expected


def test_negative_points_lower_the_score():
    rule("view", points=10)
    rule("unsubscribed", kind=Activity.Kind.UNSUBSCRIBED, points=-30)
    lead = make_lead()
    event(lead, url="/x")
    event(lead, Activity.Kind.UNSUBSCRIBED)
    assert score(lead) == -20


def test_machine_opens_and_all_opens_when_excluded_do_not_score():
    rule("open", kind=Activity.Kind.EMAIL_OPENED, points=1)
    lead = make_lead()
    event(lead, Activity.Kind.EMAIL_OPENED, data={"machine": True})
    assert score(lead) == 0
    event(lead, Activity.Kind.EMAIL_OPENED)
    assert score(lead) == 1
    ScoringSettings.objects.filter(pk=ScoringSettings.load().pk).update(exclude_opens=True)
    event(lead, Activity.Kind.EMAIL_OPENED)
    assert score(lead) == 1


def test_score_is_a_cache_rebuilt_from_the_ledger():
    rule("view", points=5)
    lead = make_lead()
    event(lead, url="/x")
    event(lead, url="/y")
    type(lead).objects.filter(pk=lead.pk).update(score=999)
    refresh_scores([lead.pk])
    assert score(lead) == lead.score_entries.aggregate(total=Sum("points"))["total"] == 10


def test_anonymous_views_score_once_the_visitor_is_identified():
    rule("view", points=5)
    stream.record(kind=Activity.Kind.PAGE_VIEW, visitor_id="v" * 20, url="/a")
    stream.record(kind=Activity.Kind.PAGE_VIEW, visitor_id="v" * 20, url="/b")
    assert stream.sweep(older_than=timedelta(0)) == 0  # nobody to score yet
    lead = make_lead()
    assert stream.identify(visitor_id="v" * 20, lead=lead) == 2
    assert stream.sweep(older_than=timedelta(0)) == 2
    assert score(lead) == 10


def test_deleting_a_lead_deletes_its_ledger_and_a_rule_with_points_cannot_be_deleted():
    """No database constraint ties the ledger to leads and rules (a rescore writes a million rows): the ORM does."""
    view = rule("view", points=5)
    kept, gone = make_lead("kept@example.com"), make_lead("gone@example.com")
    event(kept, url="/x")
    event(gone, url="/x")
    gone.delete()
    assert list(ScoreEntry.objects.values_list("lead_id", flat=True)) == [kept.pk]
    with pytest.raises(ProtectedError):
        view.delete()
    assert ScoringRule.objects.filter(pk=view.pk).exists()
