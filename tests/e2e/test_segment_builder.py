"""A marketer builds a segment in the admin: rows of conditions, a group, the live count, and the members list."""

import pytest

from leads.models import Activity, Lead, Segment
from mautomation.roles import MARKETER
from tests.e2e.test_builder_journey import log_in
from tests.factories import make_activity, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_marketer_builds_a_segment_with_a_live_count(browser, live_server, screenshot) -> None:
    make_user("marketer", role=MARKETER)
    Lead.objects.create(email="bucho@x.jp", title="営業部長", stage="mql")
    Lead.objects.create(email="kacho@x.jp", title="課長", stage="lead")
    clicker = Lead.objects.create(email="clicker@x.jp", title="部長", stage="customer")
    make_activity(clicker, Activity.Kind.EMAIL_CLICKED, campaign_id=9)
    page = browser.new_page(locale="en-US")
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/admin/leads/segment/add/")
    page.fill("#id_name", "部長")
    page.click(".sb-add")
    row = page.locator(".sb-rows > .sb-row").last
    row.locator(".sb-field").select_option("title")
    row.locator(".sb-op").select_option("contains")
    row.locator(".sb-input").fill("部長")
    page.wait_for_function("document.querySelector('.sb-count').textContent.includes('2 leads match')")

    page.click(".sb-add-group")
    group = page.locator(".sb-group").last
    group.locator(".sb-match").select_option("any")
    first = group.locator(".sb-row").first
    first.locator(".sb-field").select_option("stage")
    first.locator(".sb-input").select_option(["mql"])
    group.locator(".sb-add").click()
    second = group.locator(".sb-row").last
    second.locator(".sb-field").select_option("clicked")
    second.locator(".sb-days").fill("30")
    page.wait_for_function("document.querySelector('.sb-count').textContent.includes('2 leads match')")
    second.locator(".sb-days").fill("0")
    page.wait_for_function("document.querySelector('.sb-count').textContent.includes('days must be')")
    second.locator(".sb-days").fill("")
    page.locator("#id_match_1").check()  # any: 部長 OR (mql OR clicked)
    page.wait_for_function("document.querySelector('.sb-count').textContent.includes('2 leads match')")
    screenshot(page, "segment-builder")
    page.locator("#id_match_0").check()
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    segment = Segment.objects.get()
    assert segment.conditions == [
        {"field": "title", "op": "contains", "value": "部長"},
        {"match": "any", "conditions": [{"field": "stage", "op": "in", "value": ["mql"]},
                                        {"field": "clicked", "op": "did", "value": None}]},
    ]  # fmt: skip
    page.reload()  # the saved definition is drawn back into the builder
    assert page.locator(".sb-group .sb-row").count() == 2
    page.wait_for_function("document.querySelector('.sb-count').textContent.includes('2 leads match')")
    page.goto(f"{base}/admin/leads/lead/?segment={segment.pk}")
    assert sorted(page.locator("#result_list .field-email").all_inner_texts()) == ["bucho@x.jp", "clicker@x.jp"]
