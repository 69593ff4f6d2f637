"""Sales in a real browser: log in, find a hot lead, read why it is hot, convert it and win the deal.

The same journey is allowed for a marketer and refused for an anonymous visitor.
"""

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from leads.models import Lead
from mautomation.roles import MARKETER, SALES
from sales.models import Opportunity
from tests.factories import make_user
from tests.sales.helpers import hot_lead

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: "Page", base: str, username: str) -> None:
    page.goto(f"{base}/sales/")
    page.wait_for_url(f"{base}/accounts/login/?next=/sales/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/sales/")


def convert_and_win(page: "Page", base: str, lead: Lead, screenshot, name: str) -> None:
    page.click(f"text={lead.last_name} {lead.first_name}")
    page.wait_for_url(f"{base}/sales/leads/{lead.pk}/")
    why = page.locator("#why").inner_text()
    assert "資料請求" in why and "料金ページ閲覧" in why  # the ledger says why the lead is hot
    screenshot(page, f"{name}-lead")
    page.click("a[href$='/convert/']")
    page.fill("#id_name", "MA 導入プロジェクト")
    page.fill("#id_amount", "3600000")
    page.fill("#id_expected_close", (date.today() + timedelta(days=45)).isoformat())
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/sales/opportunities/*/")
    page.select_option("#stage-form select", "won")
    page.click("#stage-form button")
    page.wait_for_selector(".messages li")
    assert page.locator("#stage").inner_text() in ("受注", "Won")
    screenshot(page, f"{name}-won")


@pytest.mark.parametrize(("username", "role", "staff"), [("seller", SALES, False), ("planner", MARKETER, True)])
def test_a_hot_lead_is_converted_and_won_in_the_browser(browser, live_server, screenshot, username, role, staff):
    user = make_user(username, role=role, staff=staff)
    lead = hot_lead(
        "yamada@alpha.example", reasons=("資料請求", "料金ページ閲覧"), last_name="山田", first_name="太郎",
        company_name="株式会社アルファ", owner=user if role == SALES else None,
    )  # fmt: skip
    hot_lead("cooler@beta.example", score=52, last_name="佐藤", first_name="花子")
    page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url, username)
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2 and "山田" in rows.first.inner_text()  # hottest first
    screenshot(page, f"{username}-hot-leads")
    convert_and_win(page, live_server.url, lead, screenshot, username)
    opportunity = Opportunity.objects.get()
    assert (opportunity.stage, opportunity.owner, opportunity.amount) == ("won", user, 3600000)
    assert Lead.objects.get(pk=lead.pk).stage == Lead.Stage.CUSTOMER


def test_the_workspace_on_a_phone_shows_the_list_as_cards(browser, live_server, screenshot):
    make_user("mobile", role=SALES, staff=False)
    hot_lead("phone@alpha.example", last_name="鈴木", first_name="一郎", company_name="株式会社アルファ")
    page = browser.new_page(locale="ja-JP", viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in(page, live_server.url, "mobile")
    assert page.locator("table.list thead").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows sideways
    screenshot(page, "sales-phone")


def test_an_anonymous_visitor_is_refused(browser, live_server):
    lead = hot_lead(last_name="山田", first_name="太郎")
    page = browser.new_page(locale="ja-JP")
    for path in ("/sales/", f"/sales/leads/{lead.pk}/", f"/sales/leads/{lead.pk}/convert/"):
        page.goto(f"{live_server.url}{path}")
        assert page.url.startswith(f"{live_server.url}/accounts/login/")
        assert "山田" not in page.content()
    response = page.request.post(
        f"{live_server.url}/sales/leads/{lead.pk}/convert/", form={"name": "x"}, max_redirects=0
    )
    assert response.status in (302, 403)  # the CSRF check or the login redirect, never a conversion
    assert not Opportunity.objects.exists()
