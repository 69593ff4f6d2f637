"""Lead value checks shared by every ingest path: the quick email check agrees with Django's validator."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import translation

from leads.validation import clean_email, is_email

ADDRESSES = [
    "taro@example.com",
    "taro.yamada+news@mail.example.co.jp",
    "a_b-c@x-y.example.jp",
    "1@2.jp",
    "taro@localhost",
    "taro@[192.168.0.1]",
    "taro@[::1]",
    '"taro yamada"@example.com',
    "taro!#$%&'*/=?^`{|}~@example.com",
    "太郎@例え.jp",
    "taro@xn--r8jz45g.jp",
    "taro@example.xn--p1ai",
    "taro@example",
    "taro@example.c",
    "taro@example.c0m",
    "taro@-example.com",
    "taro@example-.com",
    "taro@example..com",
    "taro@.example.com",
    "taro@example.com.",
    ".taro@example.com",
    "taro.@example.com",
    "ta..ro@example.com",
    "taro@@example.com",
    "taro@exa@mple.com",
    "taro@exa_mple.com",
    "taro@example.com\n",
    "taro @example.com",
    "",
    "@example.com",
    "taro@",
    "x" * 64 + "@" + "a" * 63 + ".com",
    "taro@" + "a" * 64 + ".com",
    "taro@example." + "c" * 64,
    "f" * 310 + "@example.com",
]


@pytest.mark.parametrize("key", ADDRESSES)
def test_the_quick_email_check_gives_the_verdict_of_djangos_validator(key):
    try:
        EmailValidator()(key)
        expected = True
    except ValidationError:
        expected = False
    assert is_email(key) is expected


def test_an_address_that_nfkc_makes_longer_than_320_characters_is_refused():
    with translation.override("en"):
        value, reason = clean_email("ﬀ" * 200 + "@example.com")  # 212 characters typed, 412 once folded
    assert (len(value), reason) == (212, "is not a valid email address")


@pytest.mark.parametrize("field", ["last_name", "company_name", "title", "phone"])
def test_a_control_character_in_any_text_field_is_named_even_when_the_rest_of_the_row_is_clean(field):
    from leads.validation import clean_lead_row

    raw = {"email": "Ｔａｒｏ@Example.jp", "last_name": "山田", "company_name": "株式会社サンプル", "title": "部長",
           "phone": "03-1234-5678"}  # fmt: skip
    clean, key, problems = clean_lead_row(raw, custom_fields={})
    assert (key, problems) == ("taro@example.jp", []) and clean["email"] == "Ｔａｒｏ@Example.jp"  # as entered
    raw[field] = raw[field][:1] + "\x07" + raw[field][1:]
    with translation.override("en"):
        _clean, _key, problems = clean_lead_row(raw, custom_fields={})
    assert problems == [(field, "contains control characters")]


def test_a_full_width_address_is_accepted_and_kept_as_entered():
    """Display values are stored as entered; the key matches it and sending folds it (tests/campaigns)."""
    typed = "Ｔａｒｏ．Ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ"
    assert clean_email(f" {typed} ") == (typed, None)
