"""Scoring rules evaluated without the database."""

import pytest

from leads.models import Activity
from scoring.models import ScoringRule
from scoring.rules import points_for, url_matches

CASE_STUDY = ScoringRule(name="case study", event_kind=Activity.Kind.PAGE_VIEW, url_pattern="/case-studies/", points=5)
DOCUMENT = ScoringRule(name="document", event_kind=Activity.Kind.FORM_SUBMIT, points=20)


@pytest.mark.parametrize(
    ("match", "pattern", "url", "expected"),
    [
        ("prefix", "/pricing", "/pricing/plans", True),
        ("prefix", "/pricing", "/en/pricing", False),
        ("contains", "case", "/x/case-studies/", True),
        ("regex", r"^/case-studies/\d+/$", "/case-studies/12/", True),
        ("regex", r"^/case-studies/\d+/$", "/case-studies/abc/", False),
        ("regex", "(", "/anything", False),
        ("contains", "", "/anything", True),
    ],
)
def test_url_matching(match, pattern, url, expected):
    assert url_matches(match, pattern, url) is expected


def test_seed_examples_case_study_plus_5_and_document_request_plus_20():
    rules = [CASE_STUDY, DOCUMENT]
    assert points_for(rules, kind=Activity.Kind.PAGE_VIEW, url="https://www.example.com/case-studies/it/") == 5
    assert points_for(rules, kind=Activity.Kind.FORM_SUBMIT) == 20
    assert points_for(rules, kind=Activity.Kind.PAGE_VIEW, url="https://www.example.com/blog/") == 0


def test_inactive_rules_give_nothing():
    inactive = ScoringRule(name="off", event_kind=Activity.Kind.FORM_SUBMIT, points=20, active=False)
    assert points_for([inactive], kind=Activity.Kind.FORM_SUBMIT) == 0
