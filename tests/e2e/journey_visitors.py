"""The visitors of the production journey: the tracked site, its embedded form, the landing page, an email."""

from email.message import Message
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the browser fixture, which explains a missing Playwright
    from playwright.sync_api import Browser, Page

# A person's browser: Playwright's own user agent says "HeadlessChrome", which the product rightly takes for a
# machine (campaigns/machines.py) and leaves out of opens, clicks and scores.
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def site_pages(base: str, embed: str) -> dict[str, str]:
    """The marketer's own website: the tracking tag on every page, the embedded form on one case study."""
    tag = f'<script src="{base}/static/leads/track.js" data-endpoint="{base}/t/" async></script>'

    def page(title: str, body: str) -> str:
        return f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title>{tag}</head>' \
               f"<body><h1>{title}</h1>{body}</body></html>"  # fmt: skip

    return {
        "/case-studies/acme/": page("導入事例: 株式会社アルファ", f"<p>商談化率が2倍になりました。</p>{embed}"),
        "/case-studies/beta/": page(
            "導入事例: ベータ工業", '<p>メール反応率が改善。</p><a id="next" href="/case-studies/acme/">次の事例</a>'
        ),
    }


def visitor(browser: "Browser") -> "Page":
    return browser.new_page(locale="ja-JP", user_agent=CHROME, viewport={"width": 1200, "height": 900})


def viewed(page: "Page", action) -> None:
    """Do `action` (a navigation) and wait for the page view that track.js reports."""
    with page.expect_response("**/t/pv") as beacon:
        action()
    assert beacon.value.status == 204, beacon.value.text()


def fill_embedded_form(page: "Page", person: dict[str, str]) -> None:
    frame = page.frame_locator("iframe[src*='/f/whitepaper/']")
    for name, value in person.items():
        frame.locator(f"[name={name}]").fill(value)
    frame.locator("input[type=checkbox]").check()  # the consent box
    frame.locator("[type=submit]").click()
    frame.locator("text=ありがとう").first.wait_for()


def browse_and_submit_on_the_site(browser: "Browser", site: str, person: dict[str, str], shots) -> None:
    """An anonymous visitor reads a case study on the marketer's site, then fills in the embedded form."""
    page = visitor(browser)
    viewed(page, lambda: page.goto(f"{site}/case-studies/acme/"))
    shots(page, "site-case-study")
    fill_embedded_form(page, person)
    shots(page, "site-form-sent")
    page.close()


def submit_on_the_landing_page(browser: "Browser", base: str, person: dict[str, str], shots) -> None:
    page = visitor(browser)
    viewed(page, lambda: page.goto(f"{base}/p/launch/?utm_source=ad"))
    for name, value in person.items():
        page.fill(f"[name={name}]", value)
    page.check(".mauto-form input[type=checkbox]")  # the consent box
    with page.expect_navigation():
        page.click(".mauto-form [type=submit]")
    shots(page, "landing-page-sent")
    page.close()


def html_part(message: Message) -> str:
    part = next(part for part in message.walk() if part.get_content_type() == "text/html")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def open_click_and_convert(browser: "Browser", base: str, email: Message, person: dict[str, str], shots) -> None:
    """The recipient opens the email (its pixel loads), clicks its link, reads two case studies and converts."""
    page = visitor(browser)
    with page.expect_response(lambda response: "/e/o/" in response.url) as pixel:
        page.set_content(html_part(email))
    assert pixel.value.status == 200
    shots(page, "email-opened")
    viewed(page, lambda: page.click("a"))  # through the tracked redirect to the case study, with ?mt_lid=
    assert "mt_lid" not in page.url and "/case-studies/beta/" in page.url
    viewed(page, lambda: page.click("#next"))
    fill_embedded_form(page, person)
    shots(page, "email-converted")
    page.close()
