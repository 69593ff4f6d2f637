"""Building tracked emails as if they had been sent a while ago (a hit right after sending is a machine's)."""

import re
import time
from urllib.parse import urlsplit

from campaigns import tracking
from mautomation.lib import signing

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
HTML = (
    "<html><body><p>こんにちは</p>"
    '<a href="https://www.example.com/doc?id=1&amp;x=2">資料</a>'
    "<a href='http://example.org/seminar'>セミナー</a>"
    '<a href="mailto:info@example.com">mail</a></body></html>'
)


def sent_ago(monkeypatch, seconds: int) -> None:
    """Tokens made from now on carry a send time `seconds` in the past."""
    past = int(time.time()) - signing.EPOCH - seconds
    monkeypatch.setattr(signing, "now_field", lambda: signing.to36(past))


def personalized(send_id: int, html: str = HTML, utm: dict | None = None) -> str:
    return tracking.personalize(tracking.prepare(html), send_id=send_id, utm=utm)


def click_paths(html: str) -> list[str]:
    """The tracked hrefs as request paths (with their query)."""
    return [_path(url) for url in re.findall(r'href="([^"]*/e/c/[^"]*)"', html)]


def pixel_path(html: str) -> str:
    return _path(re.search(r'<img src="([^"]*/e/o/[^"]*)"', html).group(1))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
