"""The lead admin: what each role may do, filters and search, the lead page, merging, consent, escaping."""

import re
from datetime import timedelta

import pytest
from django import forms
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Activity, Company, Consent, CustomField, Lead, MergeRecord, Tag
from mautomation.roles import MARKETER, SALES
from tests.factories import make_activity, make_lead, make_user

pytestmark = pytest.mark.django_db

LIST = "/admin/leads/lead/"
DUPLICATES = "/admin/leads/lead/duplicates/"
MERGE = "/admin/leads/lead/merge/"
XSS = "<script>alert(1)</script>"


def change_url(lead: Lead) -> str:
    return f"/admin/leads/lead/{lead.pk}/change/"


def logged_in(user, **client_options) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **client_options)
    client.force_login(user)
    return client


@pytest.fixture
def marketer():
    return make_user("marketer", role=MARKETER)


@pytest.fixture
def marketer_client(marketer) -> Client:
    return logged_in(marketer)


@pytest.fixture
def sales_client() -> Client:
    return logged_in(make_user("sales", role=SALES))


def listed_emails(response) -> set[str]:
    return {lead.email for lead in response.context["cl"].result_list}


def form_data(client: Client, lead: Lead | None, **changes) -> dict:
    """What the browser posts back from this lead's change page (or the add page), with some values changed.

    Read from the page's forms, inlines that other apps add to the lead page included.
    """
    context = client.get(change_url(lead) if lead else "/admin/leads/lead/add/").context
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {field.html_name: posted(field) for form in forms for field in form}
    return {**data, "_save": "Save", **changes}


def posted(field) -> object:
    """A bound field's value as a browser sends it: nothing selected is an empty list, nothing typed ""."""
    if isinstance(field.field, (forms.MultipleChoiceField, forms.ModelMultipleChoiceField)):
        return field.value() or []
    return "" if field.value() is None else field.value()


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


# Roles


@pytest.mark.parametrize("url", [LIST, "/admin/leads/lead/add/", DUPLICATES, "/admin/leads/customfield/add/"])
def test_marketer_opens_the_lead_pages(marketer_client, url):
    assert marketer_client.get(url).status_code == 200


def test_marketer_opens_a_lead_and_the_merge_page(marketer_client):
    first, second = make_lead("a@example.com"), make_lead("b@example.com")
    assert marketer_client.get(change_url(first)).status_code == 200
    assert marketer_client.get(f"{MERGE}?ids={first.pk}&ids={second.pk}").status_code == 200


def test_sales_reads_leads_and_duplicates(sales_client):
    lead = make_lead()
    assert sales_client.get(LIST).status_code == 200
    assert sales_client.get(change_url(lead)).status_code == 200
    assert sales_client.get(DUPLICATES).status_code == 200


def test_sales_cannot_change_add_or_merge_leads(sales_client):
    lead, other = make_lead("a@example.com", title="部長"), make_lead("b@example.com")
    assert sales_client.post(change_url(lead), {"email": lead.email, "title": ""}).status_code == 403
    assert sales_client.get("/admin/leads/lead/add/").status_code == 403
    assert sales_client.get(f"{MERGE}?ids={lead.pk}&ids={other.pk}").status_code == 403
    assert sales_client.post(MERGE, {"ids": [lead.pk, other.pk], "winner": lead.pk}).status_code == 403
    assert Lead.objects.count() == 2
    assert Lead.objects.get(pk=lead.pk).title == "部長"


def test_sales_is_not_offered_the_merge_action_or_buttons(sales_client):
    make_lead("a@example.com", phone="03-1234-5678")
    make_lead("b@example.com", phone="0312345678")
    assert "merge_selected" not in sales_client.get(LIST).content.decode()
    assert MERGE not in sales_client.get(DUPLICATES).content.decode()


def test_the_merge_action_selected_by_sales_does_nothing(sales_client):
    first, second = make_lead("a@example.com"), make_lead("b@example.com")
    sales_client.post(LIST, {"action": "merge_selected", "_selected_action": [first.pk, second.pk]})
    assert Lead.objects.count() == 2


# The list: no N+1, filters, search


def crowd(count: int, *, start: int = 0) -> None:
    owner = make_user(f"owner{start}", role=SALES)
    tag = Tag.objects.create(name=f"tag{start}")
    for number in range(start, start + count):
        company = Company.objects.create(name=f"会社{number}", domain=f"c{number}.example")
        lead = make_lead(f"lead{number}@c{number}.example", company=company, owner=owner, custom={"industry": "IT"})
        lead.tags.add(tag)


def test_lead_list_queries_do_not_grow_with_the_rows(marketer_client, django_assert_max_num_queries):
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.CHOICE, choices=["IT", "製造"])
    crowd(3)
    with CaptureQueriesContext(connection) as few:
        marketer_client.get(LIST)
    crowd(40, start=100)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = marketer_client.get(LIST)
    assert len(response.context["cl"].result_list) == 43


def test_lead_list_has_a_fixed_query_budget(marketer_client, django_assert_max_num_queries):
    crowd(30)
    with django_assert_max_num_queries(14):  # 12, and the names of the lists and segments for their filters
        assert marketer_client.get(LIST, {"q": "lead", "stage": "lead"}).status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", {"zero@example.com", "minus@example.com"}), ("1-19", {"low@example.com"}), ("50+", {"hot@example.com"})],
)
def test_score_range_filter(marketer_client, value, expected):
    for email, score in [("zero", 0), ("minus", -5), ("low", 19), ("mid", 20), ("hot", 50)]:
        make_lead(f"{email}@example.com", score=score)
    assert listed_emails(marketer_client.get(LIST, {"score_range": value})) == expected


def test_owner_filter_lists_staff_and_sales_users_and_filters_by_owner(marketer_client):
    seller = make_user("seller", role=SALES)
    make_user("outsider", staff=False)
    make_lead("owned@example.com", owner=seller)
    make_lead("nobody@example.com")

    response = marketer_client.get(LIST, {"owner": seller.pk})

    assert listed_emails(response) == {"owned@example.com"}
    assert "seller" in response.content.decode() and "outsider" not in response.content.decode()
    assert listed_emails(marketer_client.get(LIST, {"owner": "none"})) == {"nobody@example.com"}


def test_tag_company_stage_and_consent_filters(marketer_client):
    company = Company.objects.create(name="アルファ", domain="alpha.example")
    vip = Tag.objects.create(name="vip")
    make_lead("a@alpha.example", company=company, stage=Lead.Stage.MQL, consent=True).tags.add(vip)
    make_lead("b@example.com")
    for params in [{"tags__id__exact": vip.pk}, {"company__id__exact": company.pk}, {"stage": "mql"}]:
        assert listed_emails(marketer_client.get(LIST, params)) == {"a@alpha.example"}
    assert listed_emails(marketer_client.get(LIST, {"consent__exact": "1"})) == {"a@alpha.example"}


def test_custom_field_filter_offers_the_choices_and_filters_by_them(marketer_client):
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.CHOICE, choices=["IT", "製造"])
    make_lead("it@example.com", custom={"industry": "IT"})
    make_lead("maker@example.com", custom={"industry": "製造"})

    response = marketer_client.get(LIST, {"custom": "industry=製造"})

    assert listed_emails(response) == {"maker@example.com"}
    assert "業種: IT" in response.content.decode()


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("custom.industry:IT", {"it@example.com"}),
        ('custom.memo:"big deal"', {"it@example.com"}),
        ("custom.memo:BIG", {"it@example.com"}),
        ("custom.employees:１，０００", {"maker@example.com"}),
        ("custom.employees:1000 maker", {"maker@example.com"}),
        ("custom.unknown:1", set()),
        ("custom.employees:many", set()),
    ],
)
def test_search_custom_fields_with_custom_key_value(marketer_client, search, expected):
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.CHOICE, choices=["IT", "製造"])
    CustomField.objects.create(key="memo", label="メモ", kind=CustomField.Kind.TEXT)
    CustomField.objects.create(key="employees", label="従業員数", kind=CustomField.Kind.NUMBER)
    make_lead("it@example.com", custom={"industry": "IT", "memo": "A big deal", "employees": 50})
    make_lead("maker@example.com", custom={"industry": "製造", "employees": 1000})
    assert listed_emails(marketer_client.get(LIST, {"q": search})) == expected


@pytest.mark.parametrize("search", ["03-1234-5678", "０３－１２３４－５６７８", "1234-5678", "ヤマダ", "TARO@EXAMPLE"])
def test_search_finds_a_lead_by_phone_as_typed_kana_or_email(marketer_client, search):
    make_lead("taro@example.com", phone="03-1234-5678", last_name_kana="ヤマダ")
    make_lead("other@example.com", phone="06-0000-0000")
    assert listed_emails(marketer_client.get(LIST, {"q": search})) == {"taro@example.com"}


NUL_REFUSED = "The address holds a NUL character, which no search or filter can match."


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00"},
        {"q": "山田\x00"},
        {"q": "custom.memo:\x00"},
        {"custom": "memo=\x00"},
        {"custom": "memo=big\x00"},
        {"stage__exact": "\x00"},
        {"email_status__exact": "a\x00b"},
        {"q": "山田", "\x00": "1"},
    ],
)
def test_a_nul_in_the_lead_lists_search_or_filters_is_refused_with_a_message(marketer_client, params):
    """SQLite's LIKE stops at a NUL (the pattern then matches every lead) and PostgreSQL refuses to compare
    text holding one (a 500): both databases get the same 400 instead, whichever parameter holds it."""
    CustomField.objects.create(key="memo", label="メモ", kind=CustomField.Kind.TEXT)
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.CHOICE, choices=["IT"])
    make_lead("yamada@example.com", last_name="山田", custom={"memo": "big"})
    response = marketer_client.get(LIST, params)
    assert (response.status_code, response.content.decode()) == (400, NUL_REFUSED)


def test_the_nul_refusal_is_in_japanese_for_a_japanese_user(marketer_client):
    response = marketer_client.get(LIST, {"q": "\x00"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 400
    assert "NUL 文字" in response.content.decode()


@pytest.mark.parametrize(("params", "expected"), [
    ({"q": "\x01"}, {"ctrl@example.com"}),
    ({"q": "x\x01y"}, {"ctrl@example.com"}),
    ({"q": "\x07"}, set()),
    ({"q": "\x7f"}, set()),
    ({"q": "custom.memo:\x01"}, {"ctrl@example.com"}),
    ({"q": "custom.memo:\x02"}, set()),
    ({"custom": "memo=\x01"}, {"ctrl@example.com"}),
    ({"custom": "memo=\x02"}, set()),
])  # fmt: skip
def test_other_control_characters_are_searched_as_the_literal_text_on_both_databases(marketer_client, params, expected):
    """Only a lead whose values hold the character matches: no LIKE wildcard, no database error."""
    CustomField.objects.create(key="memo", label="メモ", kind=CustomField.Kind.TEXT)
    # The custom filter is shown, and applied, once a choice field exists.
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.CHOICE, choices=["IT"])
    make_lead("ctrl@example.com", last_name="x\x01y", custom={"memo": "a\x01b"})
    make_lead("plain@example.com", last_name="山田", custom={"memo": "big"})
    response = marketer_client.get(LIST, params)
    assert response.status_code == 200
    assert listed_emails(response) == expected


# The lead page


def test_lead_page_shows_the_timeline_newest_first_with_a_link_to_all_activities(marketer_client):
    lead = make_lead()
    now = timezone.now()
    make_activity(lead, url="https://example.com/old-page/", occurred_at=now - timedelta(days=2))
    make_activity(lead, url="https://example.com/new-page/", occurred_at=now)

    page = marketer_client.get(change_url(lead)).content.decode()

    assert page.index("new-page") < page.index("old-page")
    assert '<a href="https://example.com/new-page/"' in page
    assert f"/admin/leads/activity/?lead__id__exact={lead.pk}" in page


def test_lead_page_shows_the_latest_200_activities_only(marketer_client):
    lead = make_lead()
    start = timezone.now() - timedelta(days=1)
    Activity.objects.bulk_create(
        Activity(lead=lead, kind=Activity.Kind.PAGE_VIEW, url=f"/p{n}/", occurred_at=start + timedelta(seconds=n))
        for n in range(205)
    )
    response = marketer_client.get(change_url(lead))
    assert len(response.context["timeline"]) == 200
    assert response.context["timeline"][0].url == "/p204/"
    assert "Showing the latest 200 activities." in response.content.decode()


def test_the_activity_list_filtered_by_lead(marketer_client):
    lead, other = make_lead("a@example.com"), make_lead("b@example.com")
    make_activity(lead)
    make_activity(other)
    response = marketer_client.get("/admin/leads/activity/", {"lead__id__exact": lead.pk})
    assert [activity.lead_id for activity in response.context["cl"].result_list] == [lead.pk]


def test_lead_page_shows_consents_with_revocations_and_merge_history(marketer_client, marketer):
    lead = make_lead()
    Consent.objects.create(lead=lead, method=Consent.Method.FORM, wording="案内メールの受信に同意します")
    Consent.objects.create(
        lead=lead, method=Consent.Method.IMPORT, revoked_at=timezone.now(), revoked_reason="電話で配信停止の依頼"
    )
    MergeRecord.objects.create(
        winner=lead, loser_email="old@example.com", loser_data={"last_name": "旧姓"}, merged_by=marketer
    )

    page = marketer_client.get(change_url(lead)).content.decode()

    assert "案内メールの受信に同意します" in page and "電話で配信停止の依頼" in page
    assert "old@example.com" in page and "旧姓" in page


def test_custom_fields_are_real_form_fields_saved_into_the_lead(marketer_client):
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.CHOICE, choices=["IT", "製造"])
    CustomField.objects.create(key="employees", label="従業員数", kind=CustomField.Kind.NUMBER)
    CustomField.objects.create(key="since", label="取引開始日", kind=CustomField.Kind.DATE)
    lead = make_lead(custom={"employees": 10, "legacy": "kept"})

    page = marketer_client.get(change_url(lead)).content.decode()
    values = {"custom__industry": "製造", "custom__employees": "１，２００", "custom__since": "2026/04/01"}
    response = marketer_client.post(change_url(lead), form_data(marketer_client, lead, **values))

    assert 'name="custom__industry"' in page and 'name="custom__employees" value="10"' in page
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.custom == {"industry": "製造", "employees": 1200, "since": "2026-04-01", "legacy": "kept"}


def test_marketer_adds_a_lead_with_custom_values_and_its_company_is_found(marketer_client):
    CustomField.objects.create(key="employees", label="従業員数", kind=CustomField.Kind.NUMBER)
    data = form_data(marketer_client, None, email="ｎｅｗ@Sample.example", stage="lead", custom__employees="30")
    response = marketer_client.post("/admin/leads/lead/add/", data)
    assert response.status_code == 302
    lead = Lead.objects.select_related("company").get()
    assert (lead.email_key, lead.custom) == ("new@sample.example", {"employees": 30})
    assert lead.company.domain == "sample.example"


def test_an_invalid_custom_value_is_an_error_on_its_field(marketer_client):
    CustomField.objects.create(key="employees", label="従業員数", kind=CustomField.Kind.NUMBER)
    lead = make_lead(custom={"employees": 10})
    response = marketer_client.post(change_url(lead), form_data(marketer_client, lead, custom__employees="many"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["custom__employees"] == ["is not a number"]
    lead.refresh_from_db()
    assert lead.custom == {"employees": 10}


def test_clearing_a_custom_value_removes_it(marketer_client):
    CustomField.objects.create(key="employees", label="従業員数", kind=CustomField.Kind.NUMBER)
    lead = make_lead(custom={"employees": 10})
    response = marketer_client.post(change_url(lead), form_data(marketer_client, lead, custom__employees=""))
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.custom == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "TAKEN@example.com"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"last_name": "a\x00b"}, "last_name"),
        ({"title": "x" * 300}, "title"),
    ],
)
def test_the_lead_form_refuses_wrong_values(marketer_client, changes, field):
    make_lead("taken@example.com")
    lead = make_lead("mine@example.com")
    response = marketer_client.post(change_url(lead), form_data(marketer_client, lead, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


def test_sales_sees_custom_values_read_only(sales_client):
    CustomField.objects.create(key="industry", label="業種", kind=CustomField.Kind.TEXT)
    lead = make_lead(custom={"industry": "製造"})
    page = sales_client.get(change_url(lead)).content.decode()
    assert "業種: 製造" in page
    assert 'name="custom__industry"' not in page


# Merging


def test_merge_action_confirms_then_merges_into_the_chosen_lead_with_csrf(marketer):
    client = logged_in(marketer, enforce_csrf_checks=True)
    oldest = make_lead("old@example.com", created_at=timezone.now() - timedelta(days=9))
    newer = make_lead("new@example.com", title="部長")
    make_activity(newer)
    token = csrf_token(client.get(LIST))

    confirm = client.post(
        LIST, {"action": "merge_selected", "_selected_action": [newer.pk, oldest.pk], "csrfmiddlewaretoken": token}
    )

    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert f'value="{oldest.pk}" checked' in page
    assert Lead.objects.count() == 2
    done = client.post(
        MERGE, {"ids": [oldest.pk, newer.pk], "winner": oldest.pk, "csrfmiddlewaretoken": csrf_token(confirm)}
    )
    assert done.status_code == 302 and done["Location"] == change_url(oldest)
    assert list(Lead.objects.all()) == [oldest]
    assert oldest.activities.count() == 1
    assert MergeRecord.objects.get().merged_by == marketer


def test_merge_without_a_csrf_token_is_refused(marketer):
    client = logged_in(marketer, enforce_csrf_checks=True)
    first, second = make_lead("a@example.com"), make_lead("b@example.com")
    assert client.post(MERGE, {"ids": [first.pk, second.pk], "winner": first.pk}).status_code == 403
    assert Lead.objects.count() == 2


def test_a_winner_outside_the_selection_is_refused(marketer_client):
    first, second, outsider = make_lead("a@example.com"), make_lead("b@example.com"), make_lead("c@example.com")
    response = marketer_client.post(MERGE, {"ids": [first.pk, second.pk], "winner": outsider.pk})
    assert response.status_code == 200
    assert Lead.objects.count() == 3


def test_merging_a_single_lead_is_refused_with_a_message(marketer_client):
    lead = make_lead()
    response = marketer_client.post(LIST, {"action": "merge_selected", "_selected_action": [lead.pk]}, follow=True)
    assert "Select between 2 and 50 leads to merge." in response.content.decode()
    assert marketer_client.get(f"{MERGE}?ids={lead.pk}&ids=x").status_code == 302


@pytest.mark.parametrize("junk", ["99999999999999999999999", "²", "-1", XSS, ""])
def test_hostile_ids_and_winners_are_refused_without_an_error(marketer_client, junk):
    first, second = make_lead("a@example.com"), make_lead("b@example.com")
    assert marketer_client.get(MERGE, {"ids": [first.pk, junk]}).status_code == 302
    response = marketer_client.post(MERGE, {"ids": [first.pk, second.pk, junk], "winner": junk})
    assert response.status_code == 200
    assert "winner" in response.context["form"].errors
    assert marketer_client.get(LIST, {"owner": junk, "score_range": junk, "custom": junk}).status_code == 200
    assert Lead.objects.count() == 2


def test_duplicates_page_lists_groups_with_a_merge_link(marketer_client):
    first = make_lead("a@example.com", phone="03-1234-5678")
    second = make_lead("b@example.com", phone="０３（１２３４）５６７８")
    make_lead("c@example.com", phone="06-0000-0000")

    page = marketer_client.get(DUPLICATES).content.decode()

    assert "same phone" in page and "a@example.com" in page and "c@example.com" not in page
    assert f"{MERGE}?ids={first.pk}&amp;ids={second.pk}" in page


def test_duplicates_page_queries_do_not_grow_with_the_groups(marketer_client, django_assert_max_num_queries):
    for number in range(30):
        make_lead(f"a{number}@example.com", phone=f"03-1234-{number:04d}")
        make_lead(f"b{number}@example.com", phone=f"031234{number:04d}")
    with django_assert_max_num_queries(12):
        assert marketer_client.get(DUPLICATES).status_code == 200


# Escaping


def test_user_data_is_escaped_on_the_list_page_and_lead_page(marketer_client):
    company = Company.objects.create(name=XSS, domain="evil.example")
    lead = make_lead("x@evil.example", last_name=XSS, company=company, company_name=XSS)
    make_activity(lead, url="javascript:alert(1)", data={"note": XSS})

    pages = [marketer_client.get(url).content.decode() for url in (LIST, change_url(lead))]

    for page in pages:
        assert XSS not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in pages[1]
    assert "javascript:alert(1)" in pages[1]


def test_user_data_is_escaped_on_the_duplicates_and_merge_pages(marketer_client):
    first = make_lead("a@example.com", last_name=XSS, phone="03-1234-5678")
    second = make_lead("b@example.com", last_name=XSS, phone="0312345678")
    for url in (DUPLICATES, f"{MERGE}?ids={first.pk}&ids={second.pk}"):
        page = marketer_client.get(url).content.decode()
        assert XSS not in page and "&lt;script&gt;" in page


# Companies, tags, custom fields, consents, activities


def test_company_list_counts_leads_without_a_query_per_row(marketer_client, django_assert_max_num_queries):
    for number in range(25):
        company = Company.objects.create(name=f"会社{number}", domain=f"c{number}.example")
        make_lead(f"a{number}@c{number}.example", company=company)
        make_lead(f"b{number}@c{number}.example", company=company)
    with django_assert_max_num_queries(8):
        page = marketer_client.get("/admin/leads/company/").content.decode()
    assert f'?company__id__exact={company.pk}">2</a>' in page


def test_custom_field_choices_are_typed_one_per_line(marketer_client):
    response = marketer_client.post(
        "/admin/leads/customfield/add/",
        {"key": "industry", "label": "業種", "kind": "choice", "choices": "IT\n 製造 \n\nIT"},
    )
    assert response.status_code == 302
    assert CustomField.objects.get().choices == ["IT", "製造"]


def test_a_choice_field_needs_choices(marketer_client):
    response = marketer_client.post(
        "/admin/leads/customfield/add/", {"key": "industry", "label": "業種", "kind": "choice", "choices": ""}
    )
    assert response.status_code == 200
    assert not CustomField.objects.exists()


def revoke(client: Client, consents: list[Consent], reason: str = "電話で停止依頼"):
    ids = [consent.pk for consent in consents]
    return client.post(
        "/admin/leads/consent/", {"action": "revoke", "_selected_action": ids, "apply": "yes", "reason": reason}
    )


def test_revoking_the_last_consent_stops_email_to_the_lead(marketer_client):
    lead = make_lead(consent=True)
    consent = Consent.objects.create(lead=lead, method=Consent.Method.FORM)

    confirm = marketer_client.post("/admin/leads/consent/", {"action": "revoke", "_selected_action": [consent.pk]})
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert revoke(marketer_client, [consent]).status_code == 302

    consent.refresh_from_db()
    lead.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoked_reason == "電話で停止依頼"
    assert lead.consent is False


def test_a_lead_with_another_consent_in_force_keeps_its_consent(marketer_client):
    lead = make_lead(consent=True)
    first = Consent.objects.create(lead=lead, method=Consent.Method.FORM)
    Consent.objects.create(lead=lead, method=Consent.Method.BUSINESS_CARD)
    revoke(marketer_client, [first])
    lead.refresh_from_db()
    assert lead.consent is True


def test_consents_are_never_added_or_deleted_and_sales_cannot_revoke(marketer_client, sales_client):
    lead = make_lead(consent=True)
    consent = Consent.objects.create(lead=lead, method=Consent.Method.FORM)
    assert marketer_client.get("/admin/leads/consent/add/").status_code == 403
    assert marketer_client.post(f"/admin/leads/consent/{consent.pk}/delete/", {"post": "yes"}).status_code == 403
    revoke(sales_client, [consent])
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_activities_are_append_only_for_everyone_but_superusers(marketer_client):
    activity = make_activity(make_lead())
    url = f"/admin/leads/activity/{activity.pk}/change/"
    assert marketer_client.get(url).status_code == 200
    assert marketer_client.post(url, {"kind": "custom"}).status_code == 403
    assert marketer_client.get("/admin/leads/activity/add/").status_code == 403
    assert marketer_client.post(f"/admin/leads/activity/{activity.pk}/delete/", {"post": "yes"}).status_code == 403
    superuser = logged_in(make_user("root", superuser=True))
    assert superuser.get("/admin/leads/activity/add/").status_code == 200


def test_the_lead_admin_speaks_japanese(marketer):
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(marketer)
    lead = make_lead("a@example.com", phone="03-1234-5678")
    make_lead("b@example.com", phone="0312345678")
    assert "重複の可能性" in client.get(LIST).content.decode()
    assert "タイムライン" in client.get(change_url(lead)).content.decode()
    assert "同じ電話番号" in client.get(DUPLICATES).content.decode()
