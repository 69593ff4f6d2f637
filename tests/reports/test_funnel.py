"""Funnel counts from the rollup and the unprocessed events, per campaign and per template."""

from datetime import timedelta
from decimal import Decimal

import pytest

from reports import funnel, metrics, rollup
from reports.funnel import Scope
from reports.models import Counter
from tests.reports.helpers import T0, bulk_events, campaign, event, leads, seed_example

pytestmark = pytest.mark.django_db
WEEK = timedelta(days=7)


def test_seed_example_funnel_gives_the_seeds_rates():
    mail = campaign()
    seed_example(mail.pk)
    counts = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)
    assert (counts.sent, counts.bounced, counts.opens, counts.clicks, counts.conversions) == (5102, 102, 1000, 100, 10)
    assert (counts.opens_total, counts.clicks_total) == (2000, 200)
    rates = metrics.rates(counts.funnel())
    assert [metrics.format_rate(rates[m]) for m in metrics.METRICS] == ["98.0%", "20.0%", "10.0%", "1.0%"]
    assert metrics.rate(counts.funnel(), metric="cvr", denominator="clicks") == Decimal("10.0")


def test_machine_opens_and_scanner_clicks_are_excluded_unless_asked_for():
    mail = campaign()
    person, scanner = leads(2)
    bulk_events([
        (person, "email_opened", mail.pk, T0, {}),
        (scanner, "email_opened", mail.pk, T0, {"machine": True}),
        (scanner, "email_clicked", mail.pk, T0, {"machine": True}),
    ])  # fmt: skip
    people = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)
    everything = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK, include_machine=True)
    assert (people.opens, people.clicks) == (1, 0)
    assert (everything.opens, everything.clicks) == (2, 1)


def test_conversion_counts_only_within_the_window_after_a_click():
    mail = campaign()
    quick, slow, no_click = leads(3)
    bulk_events([
        (quick, "email_clicked", mail.pk, T0, {}),
        (quick, "download", None, T0 + timedelta(days=2), {}),
        (slow, "email_clicked", mail.pk, T0, {}),
        (slow, "form_submit", None, T0 + timedelta(days=9), {}),
        (no_click, "form_submit", None, T0 + timedelta(days=1), {}),
        (quick, "form_submit", None, T0 - timedelta(hours=1), {}),  # before the click: not caused by it
    ])  # fmt: skip
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK).conversions == 1
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=timedelta(days=10)).conversions == 2
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=timedelta(days=1)).conversions == 0


def test_a_conversion_after_a_scanner_click_only_is_not_the_emails():
    mail = campaign()
    (lead,) = leads(1)
    bulk_events([(lead, "email_clicked", mail.pk, T0, {"machine": True}), (lead, "download", None, T0, {})])
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK, include_machine=True).conversions == 0


def test_a_template_scope_adds_its_campaigns_and_ignores_others():
    first, second, other = campaign("a"), campaign("b"), campaign("c")
    (lead,) = leads(1)
    bulk_events([(lead, "email_sent", c.pk, T0, {}) for c in (first, second, other)]
                + [(lead, "email_opened", c.pk, T0, {}) for c in (first, second, other)])  # fmt: skip
    counts = funnel.counts(scope=Scope.campaigns([first.pk, second.pk]), window=WEEK)
    assert (counts.sent, counts.opens) == (2, 2)  # unique per email: the lead opened each of the two


def test_events_processed_by_the_stream_count_once_per_lead():
    mail = campaign()
    a, b = leads(2)
    for lead, kind in [(a, "email_sent"), (b, "email_sent"), (a, "email_opened"), (a, "email_opened"),
                       (b, "email_opened"), (a, "email_clicked")]:  # fmt: skip
        event(lead, kind, campaign_id=mail.pk)
    event(a, "form_submit", at=T0 + timedelta(hours=1))
    counts = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)
    assert (counts.sent, counts.opens, counts.opens_total, counts.clicks, counts.conversions) == (2, 2, 3, 1, 1)


def test_the_stream_and_a_rebuild_give_the_same_rollup():
    mail = campaign()
    a, b = leads(2)
    for lead, kind, data in [(a, "email_sent", {}), (a, "email_opened", {"machine": True}), (a, "email_opened", {}),
                             (b, "email_bounced", {}), (b, "unsubscribed", {"reason": "complained"})]:  # fmt: skip
        event(lead, kind, campaign_id=mail.pk, data=data)
    event(a, "email_clicked", campaign_id=mail.pk, at=T0 + timedelta(hours=2))
    event(a, "download", at=T0 + timedelta(hours=1))  # before the click: no conversion
    event(a, "download", at=T0 + timedelta(hours=3))
    live = sorted(Counter.objects.values_list("kind", "all_events", "total", "unique"))
    rollup.rebuild()
    assert sorted(Counter.objects.values_list("kind", "all_events", "total", "unique")) == live
    counts = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)
    assert (counts.complaints, counts.bounced, counts.unsubscribes, counts.conversions) == (1, 1, 1, 1)


def test_a_click_processed_after_its_conversion_still_attributes_it():
    mail = campaign()
    (lead,) = leads(1)
    click = event(lead, "email_clicked", campaign_id=mail.pk, process=False)
    event(lead, "form_submit", at=T0 + timedelta(hours=1))
    from leads import stream

    stream.process(click.pk)
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK).conversions == 1


def test_events_not_yet_processed_are_counted_without_double_counting():
    mail = campaign()
    a, b = leads(2)
    event(a, "email_opened", campaign_id=mail.pk)
    event(a, "email_opened", campaign_id=mail.pk, process=False)  # same lead: unique stays 1
    event(b, "email_opened", campaign_id=mail.pk, process=False)
    event(b, "email_opened", campaign_id=mail.pk, process=False, data={"machine": True})
    counts = funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK)
    assert (counts.opens, counts.opens_total) == (2, 3)
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK, include_machine=True).opens_total == 4


def test_complaint_kind_counts_when_the_tracking_module_records_it():
    mail = campaign()
    (lead,) = leads(1)
    event(lead, rollup.COMPLAINED, campaign_id=mail.pk)
    event(lead, rollup.COMPLAINED, campaign_id=mail.pk, process=False)
    assert funnel.counts(scope=Scope.campaign(mail.pk), window=WEEK).complaints == 1
