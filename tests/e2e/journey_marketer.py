"""The marketer's screens of the production journey (tests/e2e/test_production_journey.py), in the Japanese admin."""

from typing import TYPE_CHECKING

from leads.models import ImportJob

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Locator, Page

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


# --- 2. Scoring rules --------------------------------------------------------------------------------------------

CASE_STUDY_POINTS, FORM_POINTS, DOWNLOAD_POINTS, HOT_THRESHOLD = 5, 20, 20, 30


def add_rule(page: "Page", base: str, *, name: str, event: str, points: int, url: str = "") -> None:
    page.goto(f"{base}/admin/scoring/scoringrule/add/")
    page.fill("#id_name", name)
    page.select_option("#id_event_kind", event)
    page.fill("#id_points", str(points))
    page.select_option("#id_frequency", "every")
    if url:
        page.select_option("#id_url_match", "contains")
        page.fill("#id_url_pattern", url)
    saved(page)


def write_scoring(page: "Page", base: str, shots) -> None:
    add_rule(page, base, name="導入事例ページ閲覧", event="page_view", points=CASE_STUDY_POINTS, url="/case-studies/")
    add_rule(page, base, name="フォーム送信", event="form_submit", points=FORM_POINTS)
    add_rule(page, base, name="資料ダウンロード", event="download", points=DOWNLOAD_POINTS)
    page.goto(f"{base}/admin/scoring/scoringrule/")
    shots(page, "scoring-rules")
    page.goto(f"{base}/admin/scoring/scoringsettings/")  # the single row opens directly
    page.fill("#id_hot_threshold", str(HOT_THRESHOLD))
    shots(page, "scoring-settings")
    saved(page)


# --- 3. Form and landing page in the builder -------------------------------------------------------------------------


def add_field(page: "Page", kind: str, label: str, maps_to: str = "") -> "Locator":
    page.select_option("[data-role=new-type]", kind)
    page.click("[data-role=add-field]")
    card = page.locator("[data-role=fields] > li").last
    card.locator("[data-prop=label]").fill(label)
    if maps_to:
        card.locator("[data-prop=maps_to]").select_option(maps_to)
    return card


def build_form(page: "Page", base: str, site: str, shots) -> str:
    """The whitepaper form, allowed on the marketer's site; returns its embed tag as the admin shows it."""
    page.goto(f"{base}/admin/landing/form/add/")
    page.fill("#id_name", "資料請求フォーム")
    page.fill("#id_slug", "whitepaper")
    add_field(page, "email", "メールアドレス", "email").locator("[data-prop=required]").check()
    add_field(page, "text", "会社名", "company_name")
    add_field(page, "text", "姓", "last_name")
    add_field(page, "text", "名", "first_name")
    add_field(page, "consent", "同意").locator("[data-prop=wording]").fill("お知らせメールの受信に同意します")
    page.check("#id_published")
    page.fill("#id_allowed_origins", site)
    page.fill("#id_min_fill_seconds", "0")
    shots(page, "form-builder")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    snippets = page.locator(".field-embed_snippets").inner_text()
    return next(line.strip() for line in snippets.splitlines() if "embed.js" in line)


def build_page(page: "Page", base: str, shots) -> None:
    page.goto(f"{base}/admin/landing/landingpage/add/")
    page.fill("#id_title", "MA導入ガイド")
    page.fill("#id_seo_title", "MA導入ガイド | 例社")
    page.fill("#id_slug", "launch")  # after the title has lost focus, or the admin's slug-from-title script adds to it
    page.select_option("[data-role=new-type]", "hero")
    page.click("[data-role=add-block]")
    hero = page.locator("[data-role=blocks] > li").last
    hero.locator("[data-prop=title]").fill("マーケティングの手間を半分に")
    hero.locator("[data-prop=text]").fill("導入ガイドを無料でお送りします。")
    page.select_option("[data-role=new-type]", "form")
    page.click("[data-role=add-block]")
    page.locator("[data-role=blocks] > li").last.locator("[data-prop=form]").select_option("whitepaper")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.frame_locator("iframe.lb-preview").locator("h1").wait_for()
    shots(page, "page-builder")
    page.click("input[name=_publish]")
    page.wait_for_selector(".messagelist .success")
