"""The marketer's screens of the production journey (tests/e2e/test_production_journey.py), in the Japanese admin."""

from typing import TYPE_CHECKING

from leads.models import ImportJob

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Page

# The trade-show list as Excel saves it in Japan: Shift_JIS (CP932), Japanese headers, full-width
# letters in an address and a company name, a CP932-only character (髙, an NEC/IBM extension).
CSV_ROWS = [
    ("メールアドレス", "姓", "名", "会社名", "部署", "役職"),
    ("yamada@alpha.example.jp", "山田", "太郎", "株式会社アルファ", "営業部", "部長"),
    ("ｓｕｚｕｋｉ＠ｂｅｔａ．ｅｘａｍｐｌｅ．ｊｐ", "鈴木", "一郎", "ベータ工業株式会社", "情報システム部", "課長"),
    ("takahashi@gamma.example.jp", "髙橋", "美咲", "ＧＡＭＭＡ商事株式会社", "マーケティング部", ""),
    ("ito@delta.example.jp", "伊藤", "健太", "デルタ物産", "総務部", "主任"),
    ("watanabe@epsilon.example.jp", "渡辺", "由美", "イプシロン・システムズ", "経営企画室", "室長"),
]
CSV_BYTES = "".join(",".join(row) + "\r\n" for row in CSV_ROWS).encode("cp932")
LIST_NAME = "展示会2026 名刺"


def log_in(page: "Page", base: str, username: str = "marketer") -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def saved(page: "Page") -> None:
    """The admin's save button, then its success message (any error shows the page instead)."""
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")


def import_csv(page: "Page", base: str, shots) -> ImportJob:
    page.goto(f"{base}/admin/leads/leadlist/add/")
    page.fill("#id_name", LIST_NAME)
    saved(page)
    page.goto(f"{base}/admin/leads/import/")
    page.set_input_files("#id_file", files=[{"name": "展示会名刺.csv", "mimeType": "text/csv", "buffer": CSV_BYTES}])
    page.select_option("#id_encoding", "cp932")
    page.select_option("#id_consent", "business_card")
    page.fill("#id_source", "展示会2026")
    page.select_option("#id_lead_list", label=LIST_NAME)
    shots(page, "import-upload")
    page.click("input[type=submit].default")
    page.wait_for_url(f"{base}/admin/leads/import/*/")
    page.wait_for_selector("text=完了", timeout=60_000)  # the page refreshes itself until the worker is done
    shots(page, "import-done")
    return ImportJob.objects.get()
