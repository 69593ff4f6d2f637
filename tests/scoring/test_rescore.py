"""A full rescore from the activity stream gives what event-by-event scoring gave."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from leads.models import Activity, Company, Lead
from scoring import rescore_pg
from scoring.models import FitRule, ScoreEntry, ScoringRule
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


def build_odd_history() -> None:
    """Inputs where SQL and Python could disagree: odd URLs, JSON flags, names, folding, free mail."""
    rule("root", url_match="prefix", url_pattern="/", points=1)
    rule("path prefix", url_match="prefix", url_pattern="/docs/", points=2)
    rule("named", kind=Activity.Kind.CUSTOM, event_name="webinar", points=3, frequency="once")
    rule("campaign 7", kind=Activity.Kind.EMAIL_CLICKED, campaign_id=7, points=4)
    rule("percent", url_match="contains", url_pattern="100%_off", points=5)
    FitRule.objects.create(name="manager", field="title", operator="contains", value="manager,部長", points=10)
    FitRule.objects.create(name="free", field="free_mail", operator="true", points=-5)
    FitRule.objects.create(name="big", field="company__employees", operator="gte", value="500", points=7)
    FitRule.objects.create(name="it", field="company__industry", operator="equals", value="ＩＴ", points=3)
    big = Company.objects.create(name="Big", domain="big.example", employees=800, industry="it")
    leads = [
        make_lead("a@gmail.com", title="ＳＡＬＥＳ ＭＡＮＡＧＥＲ"),
        make_lead("b@big.example", title="営業部長", company=big),
        make_lead("c@Example.com", title=""),
    ]
    for n, lead in enumerate(leads):
        event(lead, url="https://www.example.com")  # no path: "/" in Python
        event(lead, url="/docs/intro")  # no scheme
        event(lead, url="docs/intro")
        event(lead, url="https://x.example/go?to=https://y.example/docs/")
        event(lead, url=f"https://x.example/sale/100%_off/{n}")
        event(lead, url="https://x.example/sale/100x_off/")  # % and _ are not wildcards
        for machine in (None, 0, "", [], "yes", 1, True):
            event(lead, url="https://x.example/docs/m", data={"machine": machine})
        event(lead, Activity.Kind.CUSTOM, data={"name": "webinar"})
        event(lead, Activity.Kind.CUSTOM, data={"name": ["webinar"]})
        event(lead, Activity.Kind.EMAIL_CLICKED, campaign_id=7 if n else 8, url="https://x.example/c")


@pytest.mark.parametrize("history", [build_history, build_odd_history])
def test_rescore_reproduces_incremental_ledger_and_fit(history):
    history()
    incremental = dict(Lead.objects.values_list("email", "fit_score"))
    entries = set(ScoreEntry.objects.values_list("lead_id", "rule_id", "window", "points", "activity_id"))
    assert entries
    Lead.objects.update(score=0, fit_score=0)
    rescore()
    assert set(ScoreEntry.objects.values_list("lead_id", "rule_id", "window", "points", "activity_id")) == entries
    assert dict(Lead.objects.values_list("email", "fit_score")) == incremental


def test_rescore_after_a_rule_change_keeps_the_ledger_exact():
    """On PostgreSQL only the differences are written: rows nothing changed keep their identity."""
    build_history()
    untouched = set(ScoreEntry.objects.filter(rule__name="blog daily").values_list("pk", "points"))
    ScoringRule.objects.filter(name="pricing once").update(points=12)
    ScoringRule.objects.filter(name="open").update(active=False)
    rescore()
    assert set(ScoreEntry.objects.filter(rule__name="pricing once").values_list("points", flat=True)) == {12}
    assert not ScoreEntry.objects.filter(rule__name="open").exists()
    blog = set(ScoreEntry.objects.filter(rule__name="blog daily").values_list("pk", "points"))
    if connection.vendor == "postgresql":
        assert blog == untouched
    else:
        assert {points for _, points in blog} == {points for _, points in untouched} and len(blog) == len(untouched)
    for lead in Lead.objects.all():
        assert lead.score == sum(lead.score_entries.values_list("points", flat=True))


def test_rescore_skips_rows_a_worker_wrote_meanwhile(monkeypatch):
    """If events are scored while the rescore runs, its insert meets their rows: it skips them instead of failing."""
    build_history()
    entries = set(ScoreEntry.objects.values_list("lead_id", "rule_id", "window", "points"))
    # PostgreSQL: the rows stay, and the insert no longer sees them, as if a worker wrote them meanwhile.
    monkeypatch.setattr(rescore_pg, "delete_stale", lambda newest: 0)
    monkeypatch.setattr(rescore_pg, "SAME_KEY", "false")
    rescore()
    assert set(ScoreEntry.objects.values_list("lead_id", "rule_id", "window", "points")) == entries


def test_rescore_drops_points_of_a_deactivated_rule_but_keeps_manual_adjustments():
    build_history()
    lead = Lead.objects.get(email="l1@example.com")
    ScoreEntry.objects.create(lead=lead, kind=ScoreEntry.Kind.MANUAL, window="m1", points=7, reason="call went well")
    before = Lead.objects.get(pk=lead.pk).score
    ScoringRule.objects.filter(name="document").update(active=False)
    rescore()
    assert Lead.objects.get(pk=lead.pk).score == before + 7 - 20


def test_rescore_command_reports_counts(capsys):
    build_history()
    call_command("rescore")
    assert capsys.readouterr().out.startswith("ledger rows ")
