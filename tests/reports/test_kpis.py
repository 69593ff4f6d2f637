"""Opportunity rate and attribution, monthly KPIs, the lifecycle funnel and the readiness check."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from mautomation.roles import MARKETER, SALES
from reports import kpis, pipeline, readiness
from reports.funnel import Scope
from reports.models import KpiTarget
from sales.opportunities import change_stage
from tests.factories import make_opportunity, make_user
from tests.reports.helpers import T0, bulk_events, campaign, event, leads

pytestmark = pytest.mark.django_db


def test_opportunity_rate_counts_leads_reached_who_became_opportunities_within_the_window():
    mail = campaign()
    people = leads(4)
    bulk_events([(lead, "email_sent", mail.pk, T0, {}) for lead in people])
    seller = make_user("s", role=SALES)
    make_opportunity(people[0], seller)
    found = pipeline.pipeline(scope=Scope.campaign(mail.pk), reached=4, window=timedelta(days=90))
    assert (found.became_opportunities, found.rate) == (1, Decimal("25.0"))
    assert pipeline.became_opportunities(scope=Scope.campaign(mail.pk), window=timedelta(days=1)) == 0


def test_won_revenue_is_attributed_by_role_once_per_opportunity():
    mail = campaign()
    (lead,) = leads(1)
    event(lead, "email_opened", campaign_id=mail.pk)
    event(lead, "email_clicked", campaign_id=mail.pk, at=T0 + timedelta(hours=1))
    seller = make_user("s", role=SALES)
    deal = make_opportunity(lead, seller, amount=Decimal("2500000"))
    change_stage(opportunity=deal, to="deal", user=seller)
    change_stage(opportunity=deal, to="won", user=seller)
    rows = {row.role: row for row in pipeline.attributed(scope=Scope.campaign(mail.pk))}
    assert rows["first"].revenue == rows["last"].revenue == rows["influence"].revenue == Decimal("2500000")
    assert (rows["influence"].opportunities, rows["influence"].deals, rows["influence"].won) == (1, 1, 1)


def test_monthly_kpis_count_mqls_downloads_and_seminar_signups_via_email():
    seminar = campaign(content_type="seminar")
    a, b = leads(2)
    now = timezone.now()
    Lead.objects.filter(pk=a.pk).update(mql_at=now)
    event(a, "email_clicked", campaign_id=seminar.pk, at=now - timedelta(hours=2))
    event(a, "form_submit", at=now - timedelta(hours=1))
    event(b, "download", at=now - timedelta(hours=1))  # no click before: not via email
    month = timezone.localdate().replace(day=1)
    values = kpis.monthly(months=[month], window=timedelta(days=7))
    assert (values["mqls"][month], values["seminar_signups"][month]) == (1, 1)
    assert values["downloads"].get(month, 0) == 0


def test_months_are_split_at_midnight_japan_time_and_empty_months_read_as_zero(settings):
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    settings.TIME_ZONE = "Asia/Tokyo"
    utc = ZoneInfo("UTC")
    may, june, july = date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)
    stamps = [datetime(2026, 5, 31, 14, 59, tzinfo=utc), datetime(2026, 5, 31, 15, 0, tzinfo=utc)]  # 23:59 / 0:00 JST
    for i, at in enumerate(stamps):
        lead = Lead.objects.create(email=f"edge{i}@example.jp", source="web")
        Lead.objects.filter(pk=lead.pk).update(created_at=at, mql_at=at)
    with timezone.override("Asia/Tokyo"):
        values = kpis.monthly(months=[may, june, july], window=timedelta(days=7))
        sources = kpis.new_leads_by_source(months=[may, june, july])
    assert values["mqls"] == {may: 1, june: 1}
    assert sources == {"web": {may: 1, june: 1}}


def test_lifecycle_funnel_maps_the_six_stages_to_the_seeds_four():
    for i, stage in enumerate(["subscriber", "lead", "lead", "mql", "sql", "opportunity", "customer", "lead"]):
        Lead.objects.create(email=f"s{i}@example.jp", stage=stage)
    stages = {s.key: s for s in kpis.lifecycle()}
    assert [(s.now, s.reached) for s in stages.values()] == [(1, 8), (3, 7), (3, 4), (1, 1)]
    assert stages["promising"].conversion == Decimal("57.1")  # 4 / 7
    assert stages["subscriber"].conversion is None


def test_month_starts_cross_a_year():
    from datetime import date

    assert kpis.month_starts(date(2025, 11, 15), date(2026, 2, 1)) == [date(2025, 11, 1), date(2025, 12, 1),
                                                                       date(2026, 1, 1), date(2026, 2, 1)]  # fmt: skip


def test_readiness_enough_leads_at_five_thousand_mailable():
    Lead.objects.bulk_create(Lead(email=f"m{i}@example.jp", email_key=f"m{i}@example.jp", consent=True)
                             for i in range(4999))  # fmt: skip
    assert readiness.mailable().passed is False
    Lead.objects.create(email="last@example.jp", consent=True)
    Lead.objects.create(email="no-consent@example.jp", consent=False)
    result = readiness.mailable()
    assert result.passed and "5,000" in result.measured


def test_readiness_checks_all_six_conditions_from_live_data():
    make_user("m", role=MARKETER)
    conditions = {c.key: c for c in readiness.check()}
    assert list(conditions) == ["leads", "inflow", "traffic", "content", "people", "kpis"]
    assert not any(c.passed for c in conditions.values())
    KpiTarget.objects.create(metric="mqls", monthly_target=30)
    campaign(started_at=timezone.now())
    assert readiness.kpis().passed and readiness.people(timezone.now() - readiness.MONTH).passed
