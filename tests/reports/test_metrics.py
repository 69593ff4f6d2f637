"""The seed's formulas, reference ranges and planner, without the database."""

from decimal import Decimal

import pytest

from reports import metrics
from reports.metrics import Funnel

SEED = Funnel(sent=5102, bounced=102, opens=1000, clicks=100, conversions=10)


def test_seed_example_rates_with_default_denominators():
    assert metrics.rates(SEED) == {
        "delivery": Decimal("98.0"),
        "open": Decimal("20.0"),
        "click": Decimal("10.0"),
        "cvr": Decimal("1.0"),
    }


def test_seed_example_cvr_on_clicks_is_ten_percent():
    assert metrics.rate(SEED, metric="cvr", denominator="clicks") == Decimal("10.0")


def test_delivered_is_sent_minus_bounces():
    assert SEED.delivered == 5000


@pytest.mark.parametrize(
    ("metric", "denominator", "expected"),
    [
        ("open", "sent", "19.6"),  # 1000 / 5102 = 19.600…
        ("click", "sent", "2.0"),  # 100 / 5102 = 1.960…
        ("click", "delivered", "2.0"),
        ("cvr", "sent", "0.2"),
        ("cvr", "delivered", "0.2"),
        ("cvr", "opens", "1.0"),
    ],
)
def test_each_alternative_denominator_the_seed_names(metric, denominator, expected):
    assert metrics.rate(SEED, metric=metric, denominator=denominator) == Decimal(expected)


def test_denominators_override_only_the_named_metric():
    chosen = metrics.rates(SEED, denominators={"cvr": "clicks", "open": "sent"})
    assert chosen == {"delivery": Decimal("98.0"), "open": Decimal("19.6"), "click": Decimal("10.0"),
                      "cvr": Decimal("10.0")}  # fmt: skip


def test_unknown_denominator_is_refused_by_name():
    with pytest.raises(ValueError, match="'clicks' is not one of delivered, sent"):
        metrics.rate(SEED, metric="open", denominator="clicks")


def test_rounding_is_half_up_on_the_exact_value_not_on_a_float():
    # 1 / 8 = 12.5 %, 1 / 16 = 6.25 % (a float would round 6.25 to 6.2 under banker's rules)
    assert metrics.percent(1, 16) == Decimal("6.3")
    assert metrics.percent(1, 3) == Decimal("33.3")
    assert metrics.percent(2, 3) == Decimal("66.7")


def test_zero_denominator_gives_no_rate_shown_as_a_dash():
    empty = metrics.rates(Funnel())
    assert set(empty.values()) == {None}
    assert metrics.format_rate(None) == "—"
    assert metrics.format_rate(Decimal("98.0")) == "98.0%"


def test_more_bounces_than_sends_never_gives_negative_deliveries():
    assert Funnel(sent=3, bounced=5).delivered == 0


@pytest.mark.parametrize(
    ("content_type", "metric", "low", "high"),
    [
        ("whitepaper", "delivery", "98.0", None),
        ("whitepaper", "open", "15.0", "20.0"),
        ("whitepaper", "click", "9.0", "11.0"),
        ("whitepaper", "cvr", "2.5", "3.5"),
        ("seminar", "delivery", "98.0", None),
        ("seminar", "open", "15.0", "20.0"),
        ("seminar", "click", "6.0", "8.0"),
        ("seminar", "cvr", "2.0", "3.0"),
        ("service_intro", "delivery", "98.0", None),
        ("service_intro", "open", "15.0", "20.0"),
        ("service_intro", "click", "5.0", "7.0"),
        ("service_intro", "cvr", "1.0", "1.5"),
    ],
)
def test_reference_ranges_are_the_seeds_table(content_type, metric, low, high):
    expected = (Decimal(low), None if high is None else Decimal(high))
    assert metrics.reference_range(content_type, metric) == expected


def test_other_content_has_no_reference():
    assert metrics.reference_range("other", "open") is None
    assert metrics.compare(Decimal("10.0"), None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("14.9", "below"), ("15.0", "within"), ("17.5", "within"), ("20.0", "within"), ("20.1", "above")],
)
def test_compare_includes_both_bounds(value, expected):
    assert metrics.compare(Decimal(value), (Decimal("15.0"), Decimal("20.0"))) == expected


def test_delivery_has_no_upper_bound():
    reference = metrics.reference_range("seminar", "delivery")
    assert metrics.compare(Decimal("100.0"), reference) == "within"
    assert metrics.compare(Decimal("97.9"), reference) == "below"


def test_seed_example_rates_against_the_seminar_reference():
    reference = {metric: metrics.reference_range("seminar", metric) for metric in metrics.METRICS}
    compared = {metric: metrics.compare(value, reference[metric]) for metric, value in metrics.rates(SEED).items()}
    assert compared == {"delivery": "within", "open": "within", "click": "above", "cvr": "below"}


def test_planner_reproduces_the_seed_example():
    plan = metrics.plan(**metrics.SEED_PLAN)
    assert (plan.conversions, plan.clicks, plan.opens, plan.delivered, plan.sent) == (10, 100, 1000, 5000, 5102)


def test_planner_says_whether_the_list_is_large_enough():
    plan = metrics.plan(**metrics.SEED_PLAN)
    assert plan.enough(5102) and not plan.enough(5101)


def test_planner_with_cvr_on_opens():
    plan = metrics.plan(**{**metrics.SEED_PLAN, "cvr": Decimal("1.0"), "cvr_basis": "opens"})
    assert (plan.clicks, plan.opens, plan.delivered, plan.sent) == (100, 1000, 5000, 5102)


@pytest.mark.parametrize("bad", [Decimal(0), Decimal("-1"), Decimal("100.1")])
def test_planner_refuses_rates_outside_zero_to_a_hundred(bad):
    with pytest.raises(ValueError, match="open: a rate is a percentage"):
        metrics.plan(**{**metrics.SEED_PLAN, "open": bad})


def test_planner_refuses_an_unknown_cvr_basis():
    with pytest.raises(ValueError, match="cvr_basis 'sent'"):
        metrics.plan(**{**metrics.SEED_PLAN, "cvr_basis": "sent"})
