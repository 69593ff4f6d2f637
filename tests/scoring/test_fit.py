"""Fit scoring: who the lead is, not what it did."""

import pytest

from leads.models import Company, Lead
from scoring.fit import fit_rule_problems, fit_score
from scoring.models import FitRule

MANAGER = FitRule(name="manager", field="title", operator="contains", value="部長,役員,manager", points=10)
BIG = FitRule(name="big", field="company__employees", operator="gte", value="300", points=5)
FREE = FitRule(name="free mail", field="free_mail", operator="true", points=-10)


def lead(**fields) -> Lead:
    return Lead(email=fields.pop("email", "a@corp.example"), **fields)


@pytest.mark.parametrize("title", ["営業部長", "取締役 役員", "Sales Manager", "ｍａｎａｇｅｒ"])
def test_title_contains_any_listed_word_after_width_and_case_folding(title):
    assert fit_score([MANAGER], lead(title=title)) == 10


def test_company_size_and_free_mail():
    with_company = lead(company=Company(pk=1, name="Big", employees=500))
    assert fit_score([BIG], with_company) == 5
    assert fit_score([BIG], lead()) == 0
    assert fit_score([FREE], lead(email="someone@gmail.com")) == -10
    assert fit_score([FREE], lead(email="someone@corp.example")) == 0


@pytest.mark.parametrize(
    ("field", "operator", "value", "problem"),
    [
        ("title", "gte", "3", "operator"),
        ("company__employees", "contains", "3", "operator"),
        ("company__employees", "gte", "many", "value"),
        ("free_mail", "equals", "x", "operator"),
        ("title", "true", "", "operator"),
        ("title", "contains", " ", "value"),
    ],
)
def test_impossible_fit_rules_are_refused(field, operator, value, problem):
    assert problem in fit_rule_problems(FitRule(name="x", field=field, operator=operator, value=value, points=1))
