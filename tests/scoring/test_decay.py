"""Decay: points expire, or idle scores shrink; both idempotent and both in the ledger."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads.models import Lead
from scoring.decay import apply_decay
from scoring.models import ScoreEntry, ScoringSettings
from tests.factories import make_lead
from tests.scoring.helpers import event, rule, score

pytestmark = pytest.mark.django_db


def configure(**fields) -> None:
    ScoringSettings.objects.update_or_create(pk=1, defaults=fields)


def test_points_older_than_n_days_expire_once():
    configure(decay=ScoringSettings.Decay.EXPIRE, decay_days=90)
    rule("view", points=5)
    lead = make_lead()
    event(lead, url="/old", at=timezone.now() - timedelta(days=91))
    event(lead, url="/new", at=timezone.now() - timedelta(days=1))
    assert score(lead) == 10
    assert apply_decay() == 1
    assert apply_decay() == 0
    assert score(lead) == 5
    expiry = ScoreEntry.objects.get(kind=ScoreEntry.Kind.EXPIRY)
    assert expiry.points == -5 and expiry.cancels.activity.url == "/old"


def test_idle_scores_shrink_by_a_percentage_once_per_period():
    configure(decay=ScoringSettings.Decay.SHRINK, decay_percent=10)
    rule("view", points=50)
    idle, active = make_lead("idle@example.com"), make_lead("active@example.com")
    event(idle, url="/x", at=timezone.now() - timedelta(days=31))
    event(active, url="/x", at=timezone.now() - timedelta(days=2))
    apply_decay()
    apply_decay()
    assert (score(idle), score(active)) == (45, 50)
    apply_decay(now=timezone.now() + timedelta(days=30))
    assert score(idle) == 41  # 45 - 10% (4); a new period shrinks again


def test_no_decay_by_default_and_the_command_reports():
    rule("view", points=5)
    lead = make_lead()
    event(lead, url="/x", at=timezone.now() - timedelta(days=400))
    call_command("decay_scores")
    assert Lead.objects.get(pk=lead.pk).score == 5
