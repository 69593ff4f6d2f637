"""Validating segment definitions: precise messages for wrong, hostile and huge definitions (no database)."""

import pytest
from django.utils import translation

from leads.conditions import MAX_CONDITIONS, ConditionError, clean_definition
from leads.models import CustomField


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def problems(definition, custom_fields=None) -> list[str]:
    with pytest.raises(ConditionError) as error:
        clean_definition(definition, custom_fields=custom_fields or {})
    return error.value.problems


def one(condition: dict) -> dict:
    return {"match": "all", "conditions": [condition]}


def test_a_valid_definition_is_returned_normalised():
    cleaned = clean_definition(
        {"match": "any", "conditions": [{"field": "email_domain", "op": "is", "value": " @Example.JP "},
                                        {"field": "clicked", "op": "did", "value": 3, "days": 30}]},
        custom_fields={},
    )  # fmt: skip
    assert cleaned == {
        "match": "any",
        "conditions": [
            {"field": "email_domain", "op": "is", "value": "example.jp"},
            {"field": "clicked", "op": "did", "value": 3, "days": 30},
        ],
    }


@pytest.mark.parametrize(
    "condition, expected",
    [
        ({"field": "salary", "op": "gt", "value": 1}, "Condition 1: unknown field “salary”."),
        ({"field": "title", "op": "like", "value": "x"}, "Condition 1 (Job title): operator “like” is not one of"),
        ({"field": "score", "op": "gt", "value": "10"}, "Condition 1 (Score): the value must be a number."),
        ({"field": "score", "op": "gt", "value": True}, "Condition 1 (Score): the value must be a number."),
        ({"field": "score", "op": "gt", "value": 1.5}, "Condition 1 (Score): the value must be a whole number"),
        ({"field": "stage", "op": "in", "value": "mql"}, "Condition 1 (Lifecycle stage): the value must be a list"),
        ({"field": "stage", "op": "in", "value": ["vip"]}, "Condition 1 (Lifecycle stage): “vip” is not one of"),
        ({"field": "title", "op": "contains", "value": ""}, "Condition 1 (Job title): the value must be non-empty"),
        ({"field": "title", "op": "contains", "value": "x" * 256}, "the value is too long (256 characters"),
        ({"field": "title", "op": "contains", "value": "a\x00b"}, "the value contains control characters."),
        ({"field": "title", "op": "is_empty", "value": "x"}, "this operator takes no value."),
        ({"field": "consent", "op": "is", "value": "yes"}, "Condition 1 (Consent to email): the value must be true"),
        ({"field": "clicked", "op": "did", "value": -1}, "Condition 1 (Clicked in an email of campaign): the value"),
        ({"field": "clicked", "op": "did", "value": 3, "days": 0}, "days must be a whole number from 1 to 3650."),
        ({"field": "title", "op": "contains", "value": "x", "days": 3}, "“days” applies only to behaviour"),
        ({"field": "title", "op": "contains", "value": "x", "sql": "1"}, "unknown key “sql”."),
        ({"field": "email_domain", "op": "is", "value": "a@b.jp"}, "the value must be a domain"),
        ({"field": "not_opened_last", "op": "last", "value": 51}, "N must be a whole number from 1 to 50."),
        ({"field": "created_at", "op": "within_days", "value": 99999}, "N must be a whole number from 1 to 3650."),
        ({"field": "custom.plan", "op": "is", "value": "x"}, "Condition 1: unknown field “custom.plan”."),
        ("title contains x", "Condition 1: must be an object with field, op and value."),
        ({"field": ["title"], "op": "is", "value": "x"}, "Condition 1: unknown field “['title']”."),
    ],
)
def test_each_wrong_condition_is_refused_naming_the_condition_field_and_reason(condition, expected):
    assert any(expected in problem for problem in problems(one(condition))), problems(one(condition))


def test_every_problem_is_reported_with_its_position_in_groups():
    definition = {
        "match": "all",
        "conditions": [
            {"field": "title", "op": "contains", "value": "部長"},
            {"match": "any", "conditions": [{"field": "score", "op": "gt", "value": 1}, {"field": "nope"}]},
            {"field": "stage", "op": "in", "value": []},
        ],
    }
    assert problems(definition) == [
        "Condition 2.2: unknown field “nope”.",
        "Condition 3 (Lifecycle stage): the value must be a list of 1 to 100 choices.",
    ]


def test_groups_nest_one_level_only():
    deep = {"match": "all", "conditions": [{"match": "any", "conditions": [{"match": "all", "conditions": []}]}]}
    assert problems(deep) == ["Group 1.1: groups can be nested one level only."]


def test_ten_thousand_conditions_are_refused_without_checking_each():
    huge = {"match": "all", "conditions": [{"field": "nope"}] * 10_000}
    assert problems(huge) == [f"A segment has at most {MAX_CONDITIONS} conditions."]


def test_the_limit_counts_conditions_inside_groups():
    group = {"match": "any", "conditions": [{"field": "score", "op": "gt", "value": 1}] * 60}
    assert problems({"match": "all", "conditions": [group, group]}) == ["A segment has at most 100 conditions."]


@pytest.mark.parametrize("definition", [None, [], "x", 3, {"match": "some", "conditions": []}])
def test_a_definition_of_the_wrong_shape_is_refused(definition):
    assert problems(definition)


def test_conditions_that_are_not_a_list_are_refused():
    assert problems({"match": "all", "conditions": {"field": "title"}}) == ["The segment: conditions must be a list."]


def test_custom_fields_take_operators_and_values_from_their_kind():
    fields = {
        "seats": CustomField(key="seats", label="Seats", kind="number"),
        "plan": CustomField(key="plan", label="Plan", kind="choice", choices=["free", "pro"]),
    }
    assert problems(one({"field": "custom.seats", "op": "contains", "value": "1"}), fields)[0].startswith(
        "Condition 1 (Seats): operator “contains” is not one of: eq, ne, gt, gte, lt, lte."
    )
    assert "“gold” is not one of: free, pro." in problems(one({"field": "custom.plan", "op": "in", "value": ["gold"]}),
                                                          fields)[0]  # fmt: skip
    assert clean_definition(one({"field": "custom.seats", "op": "gte", "value": 10.5}), custom_fields=fields)
