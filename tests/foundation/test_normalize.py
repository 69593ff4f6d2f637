"""Keys that recognise the same person or company however it was typed."""

import pytest

from mautomation.lib.normalize import company_key, email_domain, email_key, phone_key


@pytest.mark.parametrize(
    "typed",
    ["taro@example.co.jp", " Taro@Example.co.jp ", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", "TARO@EXAMPLE.CO.JP\t"],
)
def test_email_key_folds_width_case_and_spaces(typed):
    assert email_key(typed) == "taro@example.co.jp"


@pytest.mark.parametrize(
    "typed", ["090-1234-5678", "０９０－１２３４－５６７８", "+81 90 1234 5678", "090ー1234ー5678", "(090)1234‐5678"]
)
def test_phone_key_folds_dashes_width_and_country_code(typed):
    assert phone_key(typed) == "09012345678"


@pytest.mark.parametrize(
    "typed", ["株式会社サンプル", "サンプル株式会社", "(株)サンプル", "㈱サンプル", "サンプル（株）", "ｻﾝﾌﾟﾙ株式会社"]
)
def test_company_key_strips_japanese_legal_forms(typed):
    assert company_key(typed) == "サンプル"


@pytest.mark.parametrize("typed", ["Sample Inc.", "Sample Co., Ltd.", "SAMPLE CO.,LTD.", "ｓａｍｐｌｅ　ｉｎｃ．"])
def test_company_key_strips_english_legal_forms(typed):
    assert company_key(typed) == "sample"


def test_company_key_keeps_words_that_merely_contain_a_legal_form():
    assert company_key("Costco Inc.") == "costco"
    assert company_key("Incubate Co., Ltd.") == "incubate"


def test_email_domain_is_lowercase_and_empty_without_at():
    assert email_domain("A@Example.COM") == "example.com"
    assert email_domain("not-an-email") == ""
