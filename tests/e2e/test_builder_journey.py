"""A marketer builds a form and a landing page in the admin; a visitor fills the form on the page."""

from typing import TYPE_CHECKING

import pytest

from landing.models import Form, LandingPage
from leads.models import Activity, Lead
from mautomation.roles import MARKETER
from scoring.models import ScoringRule
from tests.e2e.journey_marketer import add_field
from tests.factories import make_user

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Locator, Page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: "Page", base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pw-marketer")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def drag(page: "Page", source: "Locator", target: "Locator") -> None:
    """Drag with real mouse moves, in steps, as a person would (SortableJS follows the pointer)."""
    target.scroll_into_view_if_needed()
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=20)
    page.wait_for_timeout(400)  # let SortableJS's swap animation settle under the pointer (not an assertion)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"], steps=5)
    page.mouse.up()


def build_form(page: "Page", base: str, screenshot) -> None:
    page.goto(f"{base}/admin/landing/form/add/")
    page.fill("#id_name", "資料請求")
    page.fill("#id_slug", "whitepaper")
    add_field(page, "text", "Company", "company_name")
    add_field(page, "text", "Name", "last_name")
    email = add_field(page, "email", "Email", "email")
    email.locator("[data-prop=required]").check()
    consent = add_field(page, "consent", "Consent")
    consent.locator("[data-prop=wording]").fill("プライバシーポリシーに同意します")
    size = add_field(page, "select", "Employees")
    size.locator("[data-prop=options]").fill("1-10\n11-100\n101+")
    add_field(page, "hidden", "Source", "source").locator("[data-prop=default-source]").select_option("utm_source")
    handles = page.locator("[data-role=fields] .lb-handle")
    drag(page, handles.nth(2), handles.nth(0))  # the email field to the top
    page.check("#id_published")
    page.fill("#id_min_fill_seconds", "0")
    screenshot(page, "form-builder")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    screenshot(page, "form-saved")  # the builder reloaded from the saved JSON, with the embed snippets


def build_page(page: "Page", base: str, screenshot) -> None:
    page.goto(f"{base}/admin/landing/landingpage/add/")
    page.fill("#id_title", "新サービスのご案内")
    page.fill("#id_slug", "launch")
    page.fill("#id_seo_title", "新サービス | 例社")
    page.fill("#id_description", "業務を半分にする新サービス。")
    page.select_option("[data-role=new-type]", "hero")
    page.click("[data-role=add-block]")
    hero = page.locator("[data-role=blocks] > li").last
    hero.locator("[data-prop=title]").fill("営業とマーケの時間を半分に")
    hero.locator("[data-prop=text]").fill("リード管理からメール配信まで、ひとつの画面で。")
    hero.locator("[data-prop=button_text]").fill("資料をダウンロード")
    hero.locator("[data-prop=button_url]").fill("#form")
    page.select_option("[data-role=new-type]", "form")
    page.click("[data-role=add-block]")
    page.locator("[data-role=blocks] > li").last.locator("[data-prop=form]").select_option("whitepaper")
    page.click("input[name=_continue]")  # save the draft: the preview shows it
    page.wait_for_selector(".messagelist .success")
    page.frame_locator("iframe.lb-preview").locator("h1").wait_for()
    screenshot(page, "page-builder")
    page.click("input[name=_publish]")
    page.wait_for_selector(".messagelist .success")


def visit_and_submit(browser, base: str, screenshot, script_errors: list[str]) -> None:
    """A visitor (no session) reads the published page and fills in its form."""
    visitor = browser.new_page(locale="ja-JP", viewport={"width": 1200, "height": 900})
    visitor.on("pageerror", lambda error: script_errors.append(str(error)))
    with visitor.expect_response("**/t/pv"):  # the page view is recorded before the visitor is identified
        visitor.goto(f"{base}/p/launch/?utm_source=newsletter")
    assert visitor.title() == "新サービス | 例社"
    screenshot(visitor, "published-page")
    visitor.set_viewport_size({"width": 390, "height": 844})
    screenshot(visitor, "published-page-phone")
    visitor.set_viewport_size({"width": 1200, "height": 900})
    visitor.fill("[name=email]", "hanako@example.co.jp")
    visitor.fill("[name=company_name]", "株式会社サンプル")
    visitor.fill("[name=last_name]", "佐藤")
    visitor.select_option("[name=employees]", "11-100")
    visitor.check("[name=consent]")
    with visitor.expect_navigation():
        visitor.click(".mauto-form [type=submit]")
    screenshot(visitor, "after-submit")


def test_marketer_builds_form_and_page_and_a_visitor_becomes_a_scored_lead(browser, live_server, screenshot) -> None:
    make_user("marketer", role=MARKETER)
    ScoringRule.objects.create(name="Form filled", event_kind=Activity.Kind.FORM_SUBMIT, points=30)
    base = live_server.url
    marketer = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    script_errors = []
    marketer.on("pageerror", lambda error: script_errors.append(str(error)))
    log_in(marketer, base)
    build_form(marketer, base, screenshot)

    form = Form.objects.get(slug="whitepaper")
    assert form.published
    assert [field["key"] for field in form.fields] == [
        "email",
        "company_name",
        "last_name",
        "consent",
        "employees",
        "source",
    ]

    build_page(marketer, base, screenshot)
    landing = LandingPage.objects.get(slug="launch")
    assert [block["type"] for block in landing.blocks] == ["hero", "form"]

    visit_and_submit(browser, base, screenshot, script_errors)

    lead = Lead.objects.get(email="hanako@example.co.jp")
    assert lead.company_name == "株式会社サンプル"
    assert lead.submissions.get().data["employees"] == "11-100"
    assert lead.source == "newsletter"  # the hidden field took utm_source from the page URL
    marketer.goto(f"{base}/admin/leads/lead/?q=hanako")
    row = marketer.locator("#result_list tbody tr").first
    assert "hanako@example.co.jp" in row.inner_text()
    assert str(lead.score) in row.inner_text() and lead.score == 30
    assert lead.activities.filter(kind=Activity.Kind.PAGE_VIEW, url__contains="/p/launch/").exists()
    assert script_errors == []
