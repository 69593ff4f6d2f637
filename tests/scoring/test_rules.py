"""Behaviour rules evaluated without the database."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from leads.models import Activity
from scoring.models import ScoringRule
from scoring.rules import rule_matches, rule_problems, url_matches, window


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


def points_for(rules: list[ScoringRule], *, kind: str, url: str = "") -> int:
    """What an event of this kind and URL would score under these rules."""
    event = Activity(kind=kind, url=url)
    return sum(rule.points for rule in rules if rule_matches(rule, event))


CASE_STUDY = ScoringRule(name="case study", event_kind=Activity.Kind.PAGE_VIEW, url_pattern="/case-studies/", points=5)
DOCUMENT = ScoringRule(name="document", event_kind=Activity.Kind.FORM_SUBMIT, points=20)


@pytest.mark.parametrize(
    ("match", "pattern", "url", "expected"),
    [
        ("prefix", "/pricing", "/pricing/plans", True),
        ("prefix", "/pricing", "https://www.example.com/pricing/plans", True),
        ("prefix", "/pricing", "https://www.example.com/en/pricing", False),
        ("prefix", "https://www.example.com/blog", "https://www.example.com/blog/x", True),
        ("contains", "case", "/x/case-studies/", True),
        ("regex", r"^https://[^/]+/case-studies/\d+/$", "https://a.example/case-studies/12/", True),
        ("regex", r"/case-studies/\d+/$", "/case-studies/abc/", False),
        ("regex", "(", "/anything", False),
        ("contains", "", "/anything", True),
    ],
)
def test_url_matching(match, pattern, url, expected):
    assert url_matches(match, pattern, url) is expected


def test_pathological_regex_is_matched_in_linear_time():
    """(a+)+$ backtracks exponentially in Python's re; RE2 answers at once."""
    assert url_matches("regex", "^(a+)+$", "a" * 50_000 + "!") is False
    assert url_matches("regex", "^(a+)+!$", "a" * 50_000 + "!") is True


def test_seed_examples_case_study_plus_5_and_document_request_plus_20():
    rules = [CASE_STUDY, DOCUMENT]
    assert points_for(rules, kind=Activity.Kind.PAGE_VIEW, url="https://www.example.com/case-studies/it/") == 5
    assert points_for(rules, kind=Activity.Kind.FORM_SUBMIT) == 20
    assert points_for(rules, kind=Activity.Kind.PAGE_VIEW, url="https://www.example.com/blog/") == 0


def test_inactive_rules_give_nothing():
    inactive = ScoringRule(name="off", event_kind=Activity.Kind.FORM_SUBMIT, points=20, active=False)
    assert points_for([inactive], kind=Activity.Kind.FORM_SUBMIT) == 0


def test_form_campaign_and_custom_event_conditions():
    form_rule = ScoringRule(event_kind=Activity.Kind.FORM_SUBMIT, form_id=7, points=1)
    assert rule_matches(form_rule, Activity(kind=Activity.Kind.FORM_SUBMIT, form_id=7))
    assert not rule_matches(form_rule, Activity(kind=Activity.Kind.FORM_SUBMIT, form_id=8))
    click_rule = ScoringRule(event_kind=Activity.Kind.EMAIL_CLICKED, campaign_id=3, points=1)
    assert not rule_matches(click_rule, Activity(kind=Activity.Kind.EMAIL_CLICKED, campaign_id=4))
    custom = ScoringRule(event_kind=Activity.Kind.CUSTOM, event_name="trial_started", points=1)
    assert rule_matches(custom, Activity(kind=Activity.Kind.CUSTOM, data={"name": "trial_started"}))
    assert not rule_matches(custom, Activity(kind=Activity.Kind.CUSTOM, data={"name": "other"}))


def test_frequency_windows():
    at = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # 01:30 on the 24th in Tokyo
    event = Activity(pk=42, kind=Activity.Kind.PAGE_VIEW, occurred_at=at)
    assert window(ScoringRule(frequency="once"), event) == "once"
    assert window(ScoringRule(frequency="daily"), event) == "2026-11-24"
    assert window(ScoringRule(frequency="every"), event) == "a42"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url_match": "regex", "url_pattern": "(unclosed"}, "url_pattern", "not a valid regular expression"),
        ({"url_match": "regex", "url_pattern": r"(a)\1"}, "url_pattern", "not a valid regular expression"),
        ({"url_match": "regex", "url_pattern": "a" * 501}, "url_pattern", "longer than 500"),
        ({"event_kind": "form_submit", "url_pattern": "/x"}, "url_pattern", "have a URL"),
        ({"event_kind": "page_view", "form_id": 1}, "form_id", "form-submitted event"),
        ({"event_kind": "page_view", "campaign_id": 1}, "campaign_id", "email events"),
        ({"event_kind": "page_view", "event_name": "x"}, "event_name", "custom events"),
        ({"points": 0}, "points", "at least one point"),
    ],
)
def test_impossible_rules_are_refused_with_the_field_and_reason(fields, field, message):
    candidate = ScoringRule(**{"name": "r", "event_kind": "page_view", "points": 5, **fields})
    problems = rule_problems(candidate)
    assert message in problems[field]


def test_a_sound_rule_has_no_problems():
    assert rule_problems(CASE_STUDY) == {}
