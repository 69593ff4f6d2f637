"""A full rescore from the activity stream gives what event-by-event scoring gave."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leads.models import Activity, Lead
from scoring.models import ScoreEntry
from scoring.rescore import rescore
from tests.factories import make_lead
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db
SITE = "https://www.example.com"


def scores() -> dict[str, int]:
    return dict(Lead.objects.values_list("email", "score"))


def build_history() -> None:
    rule("case study", url_match="prefix", url_pattern="/case-studies/", points=5)
    rule("pricing once", url_match="contains", url_pattern="pricing", points=10, frequency="once")
    rule("blog daily", url_match="regex", url_pattern=r"/blog/\d+", points=2, frequency="daily")
    rule("document", kind=Activity.Kind.FORM_SUBMIT, points=20, form_id=1)
    rule("open", kind=Activity.Kind.EMAIL_OPENED, points=1)
    base = timezone.now().replace(hour=3, minute=0) - timedelta(days=3)
    for n, lead in enumerate(make_lead(f"l{n}@example.com") for n in range(3)):
        for hours in range(0, 40, 7):  # crosses local-midnight boundaries for the daily rule
            at = base + timedelta(hours=hours + n)
            event(lead, url=f"{SITE}/blog/{hours}", at=at)
            event(lead, url=f"{SITE}/pricing/", at=at)
        event(lead, url=f"{SITE}/case-studies/{n}/")
        event(lead, url=f"{SITE}/en/case-studies/")  # not a prefix match
        event(lead, Activity.Kind.FORM_SUBMIT, form_id=1 if n else 2)
        event(lead, Activity.Kind.EMAIL_OPENED, data={"machine": True})
        event(lead, Activity.Kind.EMAIL_OPENED, data={"machine": False})


def test_rescore_reproduces_incremental_scores():
    build_history()
    incremental = scores()
    entries = set(ScoreEntry.objects.values_list("lead_id", "rule_id", "window", "points"))
    Lead.objects.update(score=0)
    result = rescore()
    assert scores() == incremental
    assert set(ScoreEntry.objects.values_list("lead_id", "rule_id", "window", "points")) == entries
    assert result.entries == len(entries)


def test_rescore_drops_points_of_a_deactivated_rule_but_keeps_manual_adjustments():
    build_history()
    lead = Lead.objects.get(email="l1@example.com")
    ScoreEntry.objects.create(lead=lead, kind=ScoreEntry.Kind.MANUAL, window="m1", points=7, reason="call went well")
    before = Lead.objects.get(pk=lead.pk).score
    from scoring.models import ScoringRule

    ScoringRule.objects.filter(name="document").update(active=False)
    rescore()
    assert Lead.objects.get(pk=lead.pk).score == before + 7 - 20


def test_rescore_command_reports_counts(capsys):
    build_history()
    call_command("rescore")
    assert capsys.readouterr().out.startswith("ledger rows ")
