"""The marketer's email screens of the production journey: sender, templates, a three-step sequence, a broadcast."""

from typing import TYPE_CHECKING

from campaigns.models import Campaign
from tests.e2e.journey_marketer import LIST_NAME, saved

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Page

STEP_DAYS = (0, 3, 4)  # day 0, day 3, day 7
BROADCAST = "導入事例のご紹介"


def add_sender(page: "Page", base: str) -> None:
    page.goto(f"{base}/admin/campaigns/senderidentity/add/")
    page.fill("#id_name", "例社マーケティング部")
    page.fill("#id_postal_address", "東京都千代田区丸の内1-1-1")
    page.fill("#id_contact_email", "info@example.co.jp")
    saved(page)


def add_template(page: "Page", base: str, *, name: str, subject: str, link: str) -> None:
    page.goto(f"{base}/admin/campaigns/emailtemplate/add/")
    page.fill("#id_name", name)
    page.fill("#id_subject", subject)
    page.fill("#id_html", f'<p>{{{{ lead.last_name }}}} 様</p><p>{subject}</p><p><a href="{link}">詳しく見る</a></p>')
    page.fill("#id_text", f"{{{{ lead.last_name }}}} 様\n{subject}\n{link}")
    saved(page)


def pick_template(page: "Page", row, name: str) -> None:
    """The admin's autocomplete (select2): open it, search, choose."""
    row.locator(".select2-selection").click()
    page.fill(".select2-search__field", name)
    page.locator(".select2-results__option", has_text=name).click()


def build_sequence(page: "Page", base: str, form_id: int, site: str, shots) -> None:
    for number in range(1, 4):
        add_template(page, base, name=f"ステップ{number}", subject=f"ステップ{number}: MA導入のヒント",
                     link=f"{site}/case-studies/acme/")  # fmt: skip
    page.goto(f"{base}/admin/campaigns/sequence/add/")
    page.fill("#id_name", "資料請求後のフォロー")
    page.select_option("#id_entry", "form_submit")
    page.fill("#id_entry_form_id", str(form_id))
    for index, days in enumerate(STEP_DAYS):
        page.click(".add-row a")
        row = page.locator(f"#steps-{index}")
        row.locator(f"#id_steps-{index}-order").fill(str(index + 1))
        pick_template(page, row, f"ステップ{index + 1}")
        row.locator(f"#id_steps-{index}-delay").fill(str(days))
        row.locator(f"#id_steps-{index}-unit").select_option("days")
    shots(page, "sequence")
    saved(page)
    page.check("#result_list tbody input[name=_selected_action]")
    page.select_option("select[name=action]", "activate_selected")
    page.click("button[name=index]")
    page.wait_for_load_state()


def build_broadcast(page: "Page", base: str, site: str, shots) -> Campaign:
    add_sender(page, base)
    add_template(page, base, name="事例紹介メール", subject=BROADCAST, link=f"{site}/case-studies/beta/")
    page.goto(f"{base}/admin/campaigns/campaign/add/")
    page.fill("#id_name", BROADCAST)
    page.select_option("#id_content_type", "service_intro")
    page.select_option("#id_template", label="事例紹介メール")
    page.select_option("#id_lists_from", label=LIST_NAME)
    page.click("#id_lists_add, #id_lists_add_link")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.click("form[action$='/do/send/'] button")
    page.wait_for_selector(".messagelist .success")
    shots(page, "broadcast-sending")
    return Campaign.objects.get()
