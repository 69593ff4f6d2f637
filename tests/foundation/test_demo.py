"""`manage.py demo` fills an empty database once, and changes nothing the second time."""

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from landing.models import Form, LandingPage
from leads.models import Activity, Lead
from scoring.models import ScoringRule

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    models = [Lead, Activity, ScoringRule, Campaign, Form, LandingPage]
    return {model.__name__: model.objects.count() for model in models}


def test_demo_creates_each_role_and_every_ma_object(django_user_model, capsys):
    call_command("demo", "--leads", "40")
    assert counts()["Lead"] == 40
    assert counts()["Activity"] >= 40
    assert all(counts().values())
    users = {u.username: set(u.groups.values_list("name", flat=True)) for u in django_user_model.objects.all()}
    assert users == {"admin": set(), "marketer": {"marketer"}, "sales": {"sales"}}
    assert "leads created 40" in capsys.readouterr().out


def test_demo_is_idempotent(capsys):
    call_command("demo", "--leads", "40")
    before = counts()
    call_command("demo", "--leads", "40")
    assert counts() == before
    assert "users created 0, leads created 0, activities created 0" in capsys.readouterr().out


def test_demo_scores_follow_the_demo_rules():
    call_command("demo", "--leads", "40")
    hot = Lead.objects.filter(stage=Lead.Stage.MQL)
    assert all(lead.score >= 50 for lead in hot)
    assert Lead.objects.filter(score__gt=0).exists()


def test_demo_demo_users_can_log_in(client):
    call_command("demo", "--leads", "5")
    assert client.login(username="marketer", password="marketer")
    assert client.get("/admin/scoring/scoringrule/").status_code == 200


def test_demo_is_refused_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refused with DJANGO_ENV=production"):
        call_command("demo")


@pytest.mark.parametrize("leads", ["-1", "100001"])
def test_demo_rejects_absurd_sizes(leads):
    with pytest.raises(CommandError, match="--leads must be between"):
        call_command("demo", "--leads", leads)


def test_demo_gives_sales_hot_leads_with_owners_and_one_opportunity(client):
    from sales.models import Opportunity

    call_command("demo", "--leads", "120")
    call_command("demo", "--leads", "120")
    hot = Lead.objects.filter(mql_at__isnull=False)
    assert hot.filter(owner__username="sales").exists() and hot.filter(owner__isnull=True).exists()
    opportunity = Opportunity.objects.get()
    assert (opportunity.owner.username, opportunity.lead.stage) == ("sales", Lead.Stage.OPPORTUNITY)
    assert client.login(username="sales", password="sales")
    assert opportunity.lead.display_name in client.get("/sales/?stage=opportunity").content.decode()
