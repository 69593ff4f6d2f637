"""Fit scoring: points for who a lead is, from lead and company fields. Pure evaluation."""

from django.utils.translation import gettext as _

from leads.companies import company_domain
from leads.models import Lead
from mautomation.lib.normalize import fold
from scoring.models import FitRule

NUMERIC_FIELDS = {FitRule.Field.EMPLOYEES}


def field_value(lead: Lead, field: str):
    if field == FitRule.Field.FREE_MAIL:
        return "@" in lead.email and not company_domain(lead.email)
    if field.startswith("company__"):
        return getattr(lead.company, field.removeprefix("company__"), None) if lead.company_id else None
    return getattr(lead, field)


def fit_rule_matches(rule: FitRule, lead: Lead) -> bool:
    return value_matches(rule, field_value(lead, rule.field))


def value_matches(rule: FitRule, value) -> bool:
    if rule.operator == FitRule.Operator.IS_TRUE:
        return bool(value)
    if value in (None, ""):
        return False
    if rule.operator in (FitRule.Operator.AT_LEAST, FitRule.Operator.AT_MOST):
        limit = int(rule.value)
        return value >= limit if rule.operator == FitRule.Operator.AT_LEAST else value <= limit
    text = fold(str(value)).lower()
    if rule.operator == FitRule.Operator.EQUALS:
        return text == fold(rule.value).lower()
    return any(word and word in text for word in _words(rule.value))


def matching_keys(rule: FitRule, keys: list) -> list:
    """Which of these field values (for free mail: email domains) the rule matches; for set-based SQL."""
    if rule.field == FitRule.Field.FREE_MAIL:
        return [key for key in keys if key is not None and value_matches(rule, not company_domain("@" + key))]
    return [key for key in keys if key is not None and value_matches(rule, key)]


def _words(value: str) -> list[str]:
    return [fold(word).lower() for word in value.replace("、", ",").split(",") if word.strip()]


def fit_score(rules: list[FitRule], lead: Lead) -> int:
    return sum(rule.points for rule in rules if rule.active and fit_rule_matches(rule, lead))


def fit_rule_problems(rule: FitRule) -> dict[str, str]:
    numeric_operator = rule.operator in (FitRule.Operator.AT_LEAST, FitRule.Operator.AT_MOST)
    if numeric_operator != (rule.field in NUMERIC_FIELDS):
        return {"operator": _("'At least' and 'at most' apply to company size, and only they do.")}
    if rule.field == FitRule.Field.FREE_MAIL and rule.operator != FitRule.Operator.IS_TRUE:
        return {"operator": _("A free-mail address can only be tested with 'is true'.")}
    if rule.operator == FitRule.Operator.IS_TRUE and rule.field != FitRule.Field.FREE_MAIL:
        return {"operator": _("'Is true' applies to the free-mail test only.")}
    if numeric_operator and not rule.value.strip().isdigit():
        return {"value": _("Give a whole number of employees.")}
    if rule.operator in (FitRule.Operator.CONTAINS, FitRule.Operator.EQUALS) and not rule.value.strip():
        return {"value": _("Give the text to look for.")}
    return {}
