"""Form definitions: every malformed field is named with its reason; export and import round-trip."""

import pytest
from django.utils import translation

from landing.definitions import (
    DefinitionError,
    export_form,
    field_problems,
    import_form,
)
from landing.models import Form
from leads.models import CustomField
from tests.landing.form_helpers import FIELDS, make_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; test_definitions checks the Japanese catalogue."""
    with translation.override("en"):
        yield


EMAIL = {"key": "email", "type": "email", "label": "Email", "required": True, "maps_to": "email"}


def problems_of(*fields) -> list[str]:
    return field_problems([EMAIL, *fields])


def test_the_realistic_form_has_no_problems():
    assert field_problems(FIELDS) == []


def test_what_the_builder_writes_for_unused_attributes_is_accepted():
    empty = {"placeholder": "", "help": "", "options": [], "max_length": None, "default": "", "wording": ""}
    assert field_problems([{**EMAIL, **empty}, {**empty, "key": "name", "type": "text", "label": "Name"}]) == []


def test_fields_must_be_a_list_of_objects():
    assert field_problems({"key": "email"}) == ["The fields must be a list."]
    assert "Field 2: must be an object" in problems_of("email")[0]


def test_a_form_without_an_email_field_is_refused():
    problems = field_problems([{"key": "name", "type": "text", "label": "Name"}])
    assert any("exactly one email field" in problem for problem in problems)


def test_two_email_fields_mapped_to_email_are_refused():
    problems = problems_of({**EMAIL, "key": "email2"})
    assert any("exactly one email field" in problem for problem in problems)


def test_the_email_field_must_be_required():
    assert field_problems([{**EMAIL, "required": False}]) == [
        "The email field mapped to the lead's email must be required."
    ]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"key": "Bad Key", "type": "text", "label": "x"}, "Field 2 (Bad Key): the key must be"),
        ({"key": "website", "type": "text", "label": "x"}, "the key 'website' is reserved"),
        ({"key": "a", "type": "file", "label": "x"}, "Field 2 (a): the type must be one of"),
        ({"key": "a", "type": "text", "label": ""}, "Field 2 (a): the label is required."),
        ({"key": "a", "type": "text", "label": "x", "required": "yes"}, "required must be true or false"),
        ({"key": "a", "type": "text", "label": "x", "max_length": 0}, "max_length must be a whole number"),
        ({"key": "a", "type": "text", "label": "x", "max_length": 10**9}, "max_length must be a whole number"),
        ({"key": "a", "type": "text", "label": "x", "colour": "red"}, "unknown attributes: colour"),
        ({"key": "a", "type": "text", "label": "x" * 301}, "label is longer than 300 characters"),
        ({"key": "a", "type": "select", "label": "x"}, "a select field needs a list of options"),
        ({"key": "a", "type": "radio", "label": "x", "options": ["a", "a"]}, "options must be different"),
        ({"key": "a", "type": "select", "label": "x", "options": ["", "b"]}, "every option must be non-empty"),
        ({"key": "a", "type": "text", "label": "x", "options": ["a"]}, "only select, radio and checkboxes"),
        ({"key": "a", "type": "text", "label": "x", "maps_to": "password"}, "maps_to 'password' is not a lead field"),
        ({"key": "a", "type": "text", "label": "x", "maps_to": "custom:nope"}, "not a custom field defined"),
        ({"key": "a", "type": "text", "label": "x", "maps_to": "email"}, "only an email field can be mapped"),
        (
            {"key": "a", "type": "checkboxes", "label": "x", "options": ["a"], "maps_to": "title"},
            "only be mapped to a custom",
        ),
        (
            {"key": "a", "type": "consent", "label": "x"},
            "the consent wording (the text shown next to the box) is required",
        ),
        ({"key": "a", "type": "consent", "label": "x", "wording": "OK", "default": True}, "never pre-checked"),
        ({"key": "a", "type": "consent", "label": "x", "wording": "OK", "default": "on"}, "never pre-checked"),
        (
            {"key": "a", "type": "consent", "label": "x", "wording": "OK", "maps_to": "title"},
            "not mapped to a lead field",
        ),
        ({"key": "a", "type": "select", "label": "x", "options": ["a"], "default": "b"}, "default must be one of"),
    ],
)
def test_each_malformed_field_is_named_with_its_reason(field, expected):
    problems = problems_of(field)
    assert any(expected in problem for problem in problems), problems


def test_duplicate_keys_and_doubly_mapped_lead_fields_are_refused():
    name = {"key": "name", "type": "text", "label": "Name", "maps_to": "last_name"}
    problems = problems_of(name, {**name, "label": "Again"})
    assert "Keys must be unique; repeated: name." in problems
    assert "Two fields fill the same lead field: last_name." in problems


def test_a_custom_field_that_exists_may_be_mapped():
    CustomField.objects.create(key="budget", label="予算", kind=CustomField.Kind.NUMBER)
    assert problems_of({"key": "budget", "type": "text", "label": "予算", "maps_to": "custom:budget"}) == []


def test_hidden_fields_take_a_fixed_value_or_a_visit_token_and_need_no_label():
    assert (
        problems_of(
            {"key": "src", "type": "hidden", "default": "utm_source"},
            {"key": "lp", "type": "hidden", "default": "LP-1"},
        )
        == []
    )


def test_a_huge_or_hostile_definition_is_refused_quickly():
    assert "at most 50 fields" in field_problems([EMAIL] * 1000)[0]
    assert field_problems(None) == ["The fields must be a list."]
    assert problems_of({"key": "<script>", "type": "text", "label": "x"})[0].startswith("Field 2 (<script>)")


def test_messages_are_in_japanese_for_japanese_users():
    with translation.override("ja"):
        problems = field_problems([{**EMAIL, "required": False}, {"key": "a", "type": "text", "label": ""}])
    assert problems == [
        "フィールド 2（a）：ラベルは必須です。",
        "リードのメールアドレスに対応付けたメールアドレス欄は必須項目にしてください。",
    ]


# --- Export and import ------------------------------------------------------------------


def test_an_exported_form_imports_as_an_unpublished_copy():
    original = make_form(success_message="ありがとうございました", double_opt_in=True)
    data = export_form(original)
    original.delete()
    copy = import_form(data)
    assert (copy.slug, copy.fields, copy.success_message, copy.double_opt_in) == (
        "whitepaper",
        FIELDS,
        "ありがとうございました",
        True,
    )
    assert copy.published is False


def test_importing_a_definition_with_bad_fields_names_every_problem():
    data = export_form(make_form(slug="source"))
    data.update(slug="copy", fields=[{"key": "x", "type": "nope", "label": "x"}])
    with pytest.raises(DefinitionError) as refused:
        import_form(data)
    assert any("Field 1 (x): the type must be one of" in problem for problem in refused.value.problems)
    assert not Form.objects.filter(slug="copy").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"slug": "whitepaper"}, "slug:"),
        ({"slug": "not a slug"}, "slug:"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url:"),
        ({"success_action": "explode"}, "success_action:"),
        ({"asset_link_hours": "soon"}, "asset_link_hours:"),
        ({"name": "x" * 201}, "name:"),
        ({"owner": "me"}, "Unknown attributes: owner."),
        ({"format": "other"}, "not a form definition exported by mautomation"),
    ],
)
def test_importing_a_wrong_definition_is_refused_with_its_reason(change, expected):
    data = export_form(make_form())
    with pytest.raises(DefinitionError) as refused:
        import_form({**data, **change})
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems


def test_importing_something_that_is_not_an_object_is_refused():
    for data in (None, [], "form", 42):
        with pytest.raises(DefinitionError):
            import_form(data)
