"""An embedded form and the tracking tag agree on the visitor id whichever of the two async tags runs first.

Found by the production journey: when embed.js ran before track.js, the form was
sent without the visitor id, and the visitor's page views never joined the lead.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.landing.form_helpers import make_form

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TRACK_JS = (Path(__file__).resolve().parents[2] / "leads" / "static" / "leads" / "track.js").read_bytes()


def marketer_site(base: str, *, tracked: bool = True) -> ThreadingHTTPServer:
    """A page with the tracking tag (the test decides when it arrives) and the embedded form below it."""
    tag = f'<script src="/late/track.js" data-endpoint="{base}/t/" async></script>' if tracked else ""
    page = (
        f"<!doctype html><html><head>{tag}</head>"
        f'<body><h1>導入事例</h1><script src="{base}/f/whitepaper/embed.js" async></script></body></html>'
    ).encode()

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server API's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def frame_vid(page) -> str:
    return parse_qs(urlsplit(page.locator("iframe").get_attribute("src")).query).get("vid", [""])[0]


def test_the_form_carries_the_id_that_a_tracking_tag_loading_later_then_keeps(browser, live_server) -> None:
    site = marketer_site(live_server.url)
    make_form(allowed_origins=f"http://localhost:{site.server_address[1]}")
    page = browser.new_page(locale="ja-JP")
    held = []
    # The tracking tag's answer waits, so the form's tag surely runs first.
    page.route("**/late/track.js", lambda route: held.append(route))
    try:
        page.goto(f"http://localhost:{site.server_address[1]}/case-studies/", wait_until="domcontentloaded")
        page.wait_for_selector("iframe", state="attached")
        with page.expect_response("**/t/pv"):
            held[0].fulfill(body=TRACK_JS, content_type="text/javascript")
        assert len(frame_vid(page)) == 32 and frame_vid(page) == page.evaluate("window.mautomation.visitorId()")
    finally:
        site.shutdown()


def test_without_a_tracking_tag_the_form_sets_no_cookie(browser, live_server) -> None:
    site = marketer_site(live_server.url, tracked=False)
    make_form(allowed_origins=f"http://localhost:{site.server_address[1]}")
    page = browser.new_page(locale="ja-JP")
    try:
        page.goto(f"http://localhost:{site.server_address[1]}/case-studies/")
        page.wait_for_selector("iframe", state="attached")
        assert (frame_vid(page), page.evaluate("document.cookie")) == ("", "")
    finally:
        site.shutdown()
