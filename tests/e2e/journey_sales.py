"""Sales and the reports in the production journey: the workspace, the conversion, the won deal, the numbers."""

from datetime import date, timedelta
from typing import TYPE_CHECKING

from leads.models import Lead

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Browser, Page

AMOUNT = 3_600_000


def win_the_deal(browser: "Browser", base: str, lead: Lead, shots) -> tuple[list[str], str]:
    """Sales logs in, sees the hot lead and why, converts it and wins; the hot-lead list's rows, and the why."""
    page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/sales/")
    page.wait_for_url(f"{base}/accounts/login/?next=/sales/")
    page.fill("#id_username", "seller")
    page.fill("#id_password", "pw-seller")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/sales/")
    rows = page.locator("table.list tbody tr").all_inner_texts()
    shots(page, "sales-hot-leads")
    page.click(f"text={lead.last_name} {lead.first_name}")
    page.wait_for_url(f"{base}/sales/leads/{lead.pk}/")
    why = page.locator("#why").inner_text()
    shots(page, "sales-lead-why")
    page.click("a[href$='/convert/']")
    page.fill("#id_name", "MA導入プロジェクト")
    page.fill("#id_amount", str(AMOUNT))
    page.fill("#id_expected_close", (date.today() + timedelta(days=30)).isoformat())
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/sales/opportunities/*/")
    page.select_option("#stage-form select", "won")
    page.click("#stage-form button")
    page.wait_for_selector(".messages li")
    shots(page, "sales-won")
    page.close()
    return rows, why


def table(page: "Page", selector: str) -> dict[str, list[str]]:
    """A report table as {first cell: the other cells}."""
    found = {}
    for row in page.locator(f"{selector} tbody tr").all():
        cells = [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        found[cells[0]] = cells[1:]
    return found


def read_reports(page: "Page", base: str, campaign_id: int, shots) -> dict[str, dict[str, list[str]]]:
    page.goto(f"{base}/admin/reports/campaigns/{campaign_id}/")
    shots(page, "report-campaign")
    found = {"counts": table(page, "#counts"), "rates": table(page, "#rates"), "pipeline": table(page, "#pipeline")}
    page.goto(f"{base}/admin/reports/kpis/")
    shots(page, "report-kpis")
    found |= {"kpis": table(page, "#kpis"), "sources": table(page, "#sources"), "lifecycle": table(page, "#lifecycle")}
    return found
