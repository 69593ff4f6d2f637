"""Possible duplicates: the same phone however it was typed, or the same name at the same company."""

import pytest

from leads.duplicates import SAME_NAME_AND_COMPANY, SAME_PHONE, by_name_and_company, by_phone, possible_duplicates
from leads.models import Company
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def emails(group) -> list[str]:
    return [lead.email for lead in group.leads]


def test_full_width_and_dashed_variants_of_one_phone_number_form_a_group():
    make_lead("a@example.com", phone="03-1234-5678")
    make_lead("b@example.com", phone="０３－１２３４－５６７８")
    make_lead("c@example.com", phone="+81 3 1234 5678")
    make_lead("d@example.com", phone="03-9999-0000")

    [group] = by_phone()

    assert group.reason == SAME_PHONE
    assert group.key == "0312345678"
    assert sorted(emails(group)) == ["a@example.com", "b@example.com", "c@example.com"]


def test_leads_without_a_phone_are_not_duplicates_of_each_other():
    make_lead("a@example.com")
    make_lead("b@example.com")
    assert by_phone() == []


def test_same_name_at_the_same_company_forms_a_group():
    company = Company.objects.create(name="株式会社サンプル", domain="sample.example")
    make_lead("yamada@sample.example", last_name="山田", first_name="太郎", company=company)
    make_lead("t.yamada@sample.example", last_name="山田", first_name="太郎", company=company)
    make_lead("hanako@sample.example", last_name="山田", first_name="花子", company=company)

    [group] = by_name_and_company()

    assert group.reason == SAME_NAME_AND_COMPANY
    assert sorted(emails(group)) == ["t.yamada@sample.example", "yamada@sample.example"]


def test_spaces_and_latin_case_in_names_do_not_hide_a_duplicate():
    company = Company.objects.create(name="Zeta Software Inc.", domain="zeta.example")
    make_lead("a@zeta.example", last_name="Yamada", first_name="Taro", company=company)
    make_lead("b@zeta.example", last_name="yamada ", first_name="taro", company=company)
    make_lead("c@zeta.example", last_name="山田　太郎", company=company)
    make_lead("d@zeta.example", last_name="山田", first_name="太郎", company=company)

    groups = by_name_and_company()

    assert sorted(sorted(emails(group)) for group in groups) == [
        ["a@zeta.example", "b@zeta.example"],
        ["c@zeta.example", "d@zeta.example"],
    ]


def test_the_same_company_name_written_differently_matches_across_domains():
    corporate = Company.objects.create(name="株式会社サンプル", domain="sample.example")
    by_name = Company.objects.create(name="サンプル(株)")
    make_lead("yamada@sample.example", last_name="山田", first_name="太郎", company=corporate)
    make_lead("yamada@gmail.com", last_name="山田", first_name="太郎", company=by_name)

    [group] = by_name_and_company()

    assert sorted(emails(group)) == ["yamada@gmail.com", "yamada@sample.example"]


def test_same_name_at_different_companies_or_without_one_is_not_a_duplicate():
    alpha = Company.objects.create(name="アルファ", domain="alpha.example")
    beta = Company.objects.create(name="ベータ", domain="beta.example")
    make_lead("a@alpha.example", last_name="山田", first_name="太郎", company=alpha)
    make_lead("a@beta.example", last_name="山田", first_name="太郎", company=beta)
    make_lead("a@gmail.com", last_name="山田", first_name="太郎")
    make_lead("b@gmail.com", last_name="山田", first_name="太郎")
    assert by_name_and_company() == []


def test_leads_without_a_name_are_not_grouped_by_company():
    company = Company.objects.create(name="アルファ", domain="alpha.example")
    make_lead("a@alpha.example", company=company)
    make_lead("b@alpha.example", company=company)
    make_lead("c@alpha.example", last_name=" ", first_name="\u3000", company=company)
    assert by_name_and_company() == []


def test_groups_within_a_group_are_oldest_first_and_a_pair_can_match_on_both_signals():
    company = Company.objects.create(name="アルファ", domain="alpha.example")
    first = make_lead("a@alpha.example", last_name="山田", first_name="太郎", company=company, phone="0312345678")
    second = make_lead("b@alpha.example", last_name="山田", first_name="太郎", company=company, phone="03-1234-5678")

    groups = possible_duplicates()

    assert [group.reason for group in groups] == [SAME_PHONE, SAME_NAME_AND_COMPANY]
    assert all(group.leads == [first, second] for group in groups)


def test_the_number_of_groups_is_limited():
    for number in range(3):
        make_lead(f"a{number}@example.com", phone=f"03-0000-000{number}")
        make_lead(f"b{number}@example.com", phone=f"0300000{number:03d}")
    assert len(by_phone()) == 3
    assert len(by_phone(limit=2)) == 2


def test_finding_duplicates_takes_two_queries_per_signal_however_many_there_are(django_assert_num_queries):
    company = Company.objects.create(name="アルファ", domain="alpha.example")
    for number in range(20):
        make_lead(f"a{number}@alpha.example", phone=f"03-1111-{number:04d}", last_name=f"姓{number}", company=company)
        make_lead(f"b{number}@alpha.example", phone=f"031111{number:04d}", last_name=f"姓{number}", company=company)
    with django_assert_num_queries(4):
        groups = possible_duplicates()
        assert [lead.company.name for group in groups for lead in group.leads]
    assert len(groups) == 40
