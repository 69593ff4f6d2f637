"""The workspace pages: the hot-lead list, the lead page, the actions and their bad input."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.utils import timezone

from leads.models import Activity, Company, Lead
from sales.models import Note, Opportunity
from tests.factories import make_activity, make_lead, make_opportunity
from tests.sales.helpers import hot_lead, users

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return users()


@pytest.fixture
def sales_client(client, people):
    client.force_login(people["sales"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages asserted in English; Japanese is tested apart
    return client


def names(response) -> list[str]:
    return [lead.email for lead in response.context["page"]]


def test_the_list_shows_hot_leads_by_score_and_leaves_the_others_out(sales_client):
    hot_lead("warm@example.co.jp", score=55)
    hot_lead("hottest@example.co.jp", score=90)
    make_lead("cold@example.co.jp", score=99)  # not an MQL: marketing still nurtures it
    response = sales_client.get("/sales/")
    assert response.status_code == 200
    assert names(response) == ["hottest@example.co.jp", "warm@example.co.jp"]


def test_equal_scores_put_the_most_recently_active_first(sales_client):
    old, recent = hot_lead("old@example.co.jp"), hot_lead("recent@example.co.jp")
    Lead.objects.filter(pk=old.pk).update(last_activity_at=timezone.now() - timedelta(days=3))
    Lead.objects.filter(pk=recent.pk).update(last_activity_at=timezone.now())
    assert names(sales_client.get("/sales/")) == ["recent@example.co.jp", "old@example.co.jp"]


def test_filters_mine_unassigned_company_stage_new_and_search(sales_client, people):
    hot_lead("mine@example.co.jp", owner=people["sales"], company_name="株式会社アルファ")
    hot_lead("theirs@example.co.jp", owner=people["other_sales"], company_name="ベータ工業")
    free = hot_lead("free@example.co.jp", last_name="山田", company_name="ガンマ")
    Lead.objects.filter(pk=free.pk).update(mql_at=timezone.now() - timedelta(days=5), stage=Lead.Stage.SQL)
    assert names(sales_client.get("/sales/?owner=mine")) == ["mine@example.co.jp"]
    assert names(sales_client.get("/sales/?owner=unassigned")) == ["free@example.co.jp"]
    assert names(sales_client.get("/sales/?company=アルファ")) == ["mine@example.co.jp"]
    assert names(sales_client.get("/sales/?stage=sql")) == ["free@example.co.jp"]
    assert sorted(names(sales_client.get("/sales/?new=1"))) == ["mine@example.co.jp", "theirs@example.co.jp"]
    assert names(sales_client.get("/sales/?q=山田")) == ["free@example.co.jp"]


def test_a_malformed_filter_is_a_400_that_names_it_never_a_500(sales_client):
    hot_lead()
    for query in ("stage=bogus", "owner=nobody", "q=" + "x" * 500, "q=%00", "page=abc"):
        response = sales_client.get(f"/sales/?{query}")
        assert response.status_code in (200, 400), query
    response = sales_client.get("/sales/?stage=bogus")
    assert response.status_code == 400
    assert "bogus" in response.content.decode()
    assert sales_client.get("/sales/?page=999").status_code == 200  # the last page, not an error


def test_the_list_pages_by_fifty(sales_client):
    for n in range(51):
        hot_lead(f"p{n}@example.co.jp")
    first, second = sales_client.get("/sales/"), sales_client.get("/sales/?page=2")
    assert (len(names(first)), len(names(second))) == (50, 1)


def test_csv_export_follows_the_filters_and_neutralises_formulas(sales_client, people):
    hot_lead("mine@example.co.jp", owner=people["sales"], company_name='=HYPERLINK("http://evil")')
    hot_lead("theirs@example.co.jp", owner=people["other_sales"])
    response = sales_client.get("/sales/export.csv?owner=mine")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == "mine@example.co.jp"
    assert '\'=HYPERLINK("http://evil")' in rows[1]


def test_the_lead_page_says_why_the_lead_is_hot_and_shows_its_history(sales_client):
    company = Company.objects.create(name="株式会社アルファ", domain="alpha.example")
    lead = hot_lead(
        reasons=("資料請求", "料金ページ閲覧"), company=company, company_name=company.name, phone="03-1234-5678"
    )
    make_lead("colleague@alpha.example", company=company, last_name="同僚")
    make_activity(lead, Activity.Kind.PAGE_VIEW, url="https://www.example.com/pricing/")
    make_activity(lead, Activity.Kind.EMAIL_CLICKED, campaign_id=999)
    body = sales_client.get(f"/sales/leads/{lead.pk}/").content.decode()
    for expected in ("資料請求", "料金ページ閲覧", "https://www.example.com/pricing/", "同僚", "03-1234-5678", "#999"):
        assert expected in body, expected


def test_an_unknown_lead_is_a_404(sales_client):
    assert sales_client.get("/sales/leads/987654/").status_code == 404


def test_a_script_in_a_note_is_shown_as_text(sales_client):
    lead = hot_lead()
    response = sales_client.post(
        f"/sales/leads/{lead.pk}/notes/", {"kind": "call", "body": "<script>alert(1)</script>"}
    )
    assert response.status_code == 302
    body = sales_client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "This field is required."), ("   ", "This field is required."), ("x" * 5001, "at most 5000"),
     ("bad\x00byte", "Null characters"), ("bell\x07", "control characters")],
)  # fmt: skip
def test_a_bad_note_is_refused_with_a_reason(sales_client, body, message):
    lead = hot_lead()
    response = sales_client.post(f"/sales/leads/{lead.pk}/notes/", {"kind": "note", "body": body})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Note.objects.count() == 0


def test_converting_from_the_workspace_creates_the_opportunity(sales_client, people):
    lead = hot_lead()
    close = (date.today() + timedelta(days=30)).isoformat()
    response = sales_client.post(
        f"/sales/leads/{lead.pk}/convert/", {"name": "導入案件", "amount": "1200000", "expected_close": close}
    )
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sales/opportunities/{opportunity.pk}/"
    assert (opportunity.owner, opportunity.amount) == (people["sales"], 1200000)


@pytest.mark.parametrize(
    ("amount", "close_in_days", "message"),
    [("-1", 30, "cannot be negative"), ("1e20", 30, "no more than 14 digits"),
     ("100000000001", 30, "cannot exceed"), ("NaN", 30, "Enter a number"), ("12.345", 30, "2 decimal places"),
     ("100", -1, "cannot be in the past"), ("abc", 30, "Enter a number")],
)  # fmt: skip
def test_bad_amounts_and_past_dates_are_refused_precisely(sales_client, amount, close_in_days, message):
    lead = hot_lead()
    close = (date.today() + timedelta(days=close_in_days)).isoformat()
    response = sales_client.post(
        f"/sales/leads/{lead.pk}/convert/", {"name": "案件", "amount": amount, "expected_close": close}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Opportunity.objects.exists()


def test_another_users_opportunity_is_a_404_in_every_form(sales_client, people):
    theirs = make_opportunity(hot_lead(), people["other_sales"], name="秘密の案件")
    for url, data in [
        (f"/sales/opportunities/{theirs.pk}/", None),
        (f"/sales/opportunities/{theirs.pk}/", {"name": "x", "amount": "1", "expected_close": "2099-01-01"}),
        (f"/sales/opportunities/{theirs.pk}/stage/", {"stage": "won"}),
    ]:
        response = sales_client.post(url, data) if data else sales_client.get(url)
        assert response.status_code == 404
        assert "秘密の案件" not in response.content.decode()
    assert "秘密の案件" not in sales_client.get("/sales/opportunities/").content.decode()
    assert Opportunity.objects.get(pk=theirs.pk).stage == "opportunity"


def test_moving_an_opportunity_to_won_from_its_page(sales_client, people):
    lead = hot_lead()
    opportunity = make_opportunity(lead, people["sales"])
    response = sales_client.post(f"/sales/opportunities/{opportunity.pk}/stage/", {"stage": "won"})
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=opportunity.pk).stage == "won"
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.CUSTOMER
    assert sales_client.post(f"/sales/opportunities/{opportunity.pk}/stage/", {"stage": "bogus"}).status_code == 400


def test_reassigning_and_returning_a_lead_from_its_page(sales_client, people):
    lead = hot_lead(owner=people["sales"])
    response = sales_client.post(f"/sales/leads/{lead.pk}/reassign/", {"owner": people["other_sales"].pk})
    assert response.status_code == 302 and Lead.objects.get(pk=lead.pk).owner == people["other_sales"]
    # Now it is the colleague's: passing it on or returning it is theirs to do.
    assert (
        sales_client.post(f"/sales/leads/{lead.pk}/hand-back/", {"kind": "recycle", "reason": "timing"}).status_code
        == 403
    )
    assert sales_client.post(f"/sales/leads/{lead.pk}/reassign/", {"owner": "999999"}).status_code == 403


def test_a_bad_reassignment_or_hand_back_is_a_400(sales_client, people):
    lead = hot_lead(owner=people["sales"])
    assert sales_client.post(f"/sales/leads/{lead.pk}/reassign/", {"owner": "999999"}).status_code == 400
    assert sales_client.post(f"/sales/leads/{lead.pk}/reassign/", {"owner": "x" * 100}).status_code == 400
    response = sales_client.post(f"/sales/leads/{lead.pk}/hand-back/", {"kind": "recycle", "reason": "made-up"})
    assert response.status_code == 400
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.MQL


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_reads_a_constant_number_of_queries(sales_client, django_assert_num_queries, people, size):
    for n in range(size):
        lead = hot_lead(f"q{n}@example.co.jp", owner=people["sales"] if n % 2 else people["other_sales"])
        make_activity(lead, Activity.Kind.PAGE_VIEW)
    with django_assert_num_queries(6):  # session, user, its two permission sets, count, page
        assert sales_client.get("/sales/").status_code == 200


@pytest.mark.parametrize("size", [2, 40])
def test_the_lead_page_reads_a_constant_number_of_queries(sales_client, django_assert_num_queries, people, size):
    company = Company.objects.create(name="株式会社アルファ", domain="alpha.example")
    lead = hot_lead(reasons=tuple(f"r{n}" for n in range(size)), company=company, owner=people["sales"])
    for n in range(size):
        make_lead(f"c{n}@alpha.example", company=company, owner=people["other_sales"])
        make_activity(lead, Activity.Kind.EMAIL_OPENED, campaign_id=n + 1)
        make_activity(lead, Activity.Kind.FORM_SUBMIT, form_id=n + 1)
        Note.objects.create(lead=lead, author=people["sales"], body=f"note {n}")
    make_opportunity(lead, people["sales"])
    with django_assert_num_queries(20):
        assert sales_client.get(f"/sales/leads/{lead.pk}/").status_code == 200


@pytest.mark.parametrize("size", [1, 12])
def test_the_opportunity_list_reads_a_constant_number_of_queries(sales_client, django_assert_num_queries, people, size):
    for n in range(size):
        make_opportunity(hot_lead(f"o{n}@example.co.jp"), people["sales"])
    with django_assert_num_queries(6):  # session, user, its two permission sets, count, page
        assert sales_client.get("/sales/opportunities/").status_code == 200


def test_the_workspace_speaks_japanese_and_english(client, people):
    opportunity = make_opportunity(hot_lead(), people["sales"])
    client.force_login(people["sales"])
    japanese = client.get("/sales/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    english = client.get("/sales/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "ホットリード" in japanese and "昨日以降の新着" in japanese
    assert "Hot leads" in english and "New since yesterday" in english
    page = client.get(f"/sales/opportunities/{opportunity.pk}/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "商談化" in page and "受注" in page and "失注" in page
