"""Tracked links, the open pixel and unsubscribe links of one marketing email, per recipient.

The sending loop calls `prepare` and `personalize` once per message: `prepare`
finds the links (what each <a> tag holds is cached, as the tags repeat from one
message to the next) and `personalize` only signs and joins strings (a few
microseconds per link). Every token is an HMAC under a
purpose-specific key (mautomation/lib/signing.py):

- open pixel   /e/o/<send>.<time>.<sig>
- click        /e/c/<send>.<time>.<sig>?u=<target>  the signature covers the target,
               so a click redirects only to a URL that was in that recipient's email;
- unsubscribe  /e/u/<send>.<sig> (page with a button), /e/u/<send>.<sig>/one-click (RFC 8058).

<time> is when the message was personalised, which is (to a second or so) when
it was sent: a hit a few seconds later is a proxy or a scanner (campaigns/machines.py).
"""

import html
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.conf import settings

from leads.tracking import is_http_url
from mautomation.lib import signing

OPEN, CLICK, UNSUBSCRIBE = "email-open", "email-click", "email-unsubscribe"
URL_MAX = 2000  # Activity.url holds 2,000 characters; longer links stay untracked
PATH_PREFIX = "/e/"
_A_TAG = re.compile(r"<a\s[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""\shref\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)
_NO_TRACK = re.compile(r"\sdata-notrack[\s=>/]", re.IGNORECASE)
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|%7b%7b|%7b%25", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class PreparedHtml:
    """The email's HTML cut around its tracked links and the pixel's place.

    `chunks` has len(links) + 2 items: chunk, link, chunk, link, …, chunk, pixel, chunk.
    """

    chunks: tuple[str, ...]
    links: tuple[str, ...]
    _targets: dict = field(default_factory=dict, compare=False, repr=False)

    def targets(self, utm: dict[str, str] | None) -> tuple[tuple[bytes, str], ...]:
        """Per link: the bytes its signature covers and the quoted target, with UTM added (cached per utm)."""
        cache_key = tuple(sorted((utm or {}).items()))
        if cache_key not in self._targets:
            in_order = tuple((utm or {}).items())  # the parameters' order in the URL is the caller's
            self._targets[cache_key] = tuple(_signed_target(url, in_order) for url in self.links)
        return self._targets[cache_key]


@lru_cache(maxsize=4096)
def _signed_target(url: str, utm: tuple[tuple[str, str], ...]) -> tuple[bytes, str]:
    """Cached across messages: each is cut anew (see Composer.compose) but their links repeat."""
    url = add_utm(url, dict(utm))
    return b"|" + url.encode(), quote(url, safe=":/")


def base_url() -> str:
    return settings.SITE_URL.rstrip("/")


def prepare(html_text: str) -> PreparedHtml:
    """Find the trackable links and the pixel's place, once per template."""
    chunks, links, start = [], [], 0
    for tag in _A_TAG.finditer(html_text):
        span = _trackable_href(tag)
        if span is None:
            continue
        value_start, value_end, url = span
        chunks.append(html_text[start:value_start])
        links.append(url)
        start = value_end
    body_ends = list(_BODY_END.finditer(html_text, start))
    pixel_at = body_ends[-1].start() if body_ends else len(html_text)
    chunks += [html_text[start:pixel_at], html_text[pixel_at:]]
    return PreparedHtml(chunks=tuple(chunks), links=tuple(links))


def _trackable_href(tag: re.Match) -> tuple[int, int, str] | None:
    """Where the href value of this <a> tag is in the HTML, and its URL, when the link is to be tracked."""
    found = _href_in_tag(tag.group(), base_url())
    if found is None:
        return None
    start, end, url = found
    return tag.start() + start, tag.start() + end, url


@lru_cache(maxsize=4096)
def _href_in_tag(text: str, _base_url: str) -> tuple[int, int, str] | None:
    """Where the tracked URL is within one <a …> tag's text, and the URL.

    Cached: every message of a campaign is cut anew (merge tags may change the HTML around
    its links) but holds the same tags, and reading one costs ~8 µs. The site's URL is part
    of the key because it decides what counts as our own link.
    """
    href = _HREF.search(text)
    if href is None or _NO_TRACK.search(text):
        return None
    url = html.unescape(href.group(1).strip("\"'")).strip()
    if not trackable(url):
        return None
    return href.start(1), href.end(1), url


def trackable(url: str) -> bool:
    """An absolute http(s) link of sane length that is neither ours nor a template placeholder."""
    if len(url) > URL_MAX or not is_http_url(url) or _TEMPLATE_SYNTAX.search(url):
        return False
    return not url.startswith(base_url() + PATH_PREFIX)


def add_utm(url: str, utm: dict[str, str] | None) -> str:
    """The URL with the UTM parameters it does not already have (the author's own values win)."""
    if not utm:
        return url
    parts = urlsplit(url)
    present = {name for name, _value in parse_qsl(parts.query, keep_blank_values=True)}
    extra = urlencode([(name, value) for name, value in utm.items() if value and name not in present])
    if not extra:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def personalize(prepared: PreparedHtml, *, send_id: int, utm: dict[str, str] | None = None) -> str:
    """The HTML of one message: signed click URLs for this send, and its open pixel."""
    base = html.escape(base_url())
    prefix = f"{signing.to36(send_id)}.{signing.now_field()}"
    head = prefix.encode()
    click_key = signing.key(CLICK)
    out = [prepared.chunks[0]]
    for (signed, quoted), chunk in zip(prepared.targets(utm), prepared.chunks[1:], strict=False):
        token = f"{prefix}.{signing.signature(click_key, head + signed)}"
        out += ['"', base, "/e/c/", token, "?u=", quoted, '"', chunk]
    pixel = f"{base}/e/o/{prefix}.{signing.signature(signing.key(OPEN), head + b'|')}"
    out += [_pixel_tag(pixel), prepared.chunks[-1]]
    return "".join(out)


def _pixel_tag(src: str) -> str:
    return f'<img src="{src}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">'


def unsubscribe_token(send_id: int) -> str:
    return signing.make(UNSUBSCRIBE, send_id)


def unsubscribe_url(send_id: int) -> str:
    """The footer's link: a page that asks for confirmation (link scanners must not unsubscribe)."""
    return f"{base_url()}/e/u/{unsubscribe_token(send_id)}"


def unsubscribe_headers(send_id: int) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: the mail client POSTs to the https URL, without cookies or login."""
    token = unsubscribe_token(send_id)
    links = [f"<{base_url()}/e/u/{token}/one-click>"]
    if mailbox := unsubscribe_mailbox():
        links.append(f"<mailto:{mailbox}?subject=unsubscribe-{token}>")
    return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribe_mailbox() -> str:
    """UNSUBSCRIBE_EMAIL, or unsubscribe@ the domain of DEFAULT_FROM_EMAIL."""
    if configured := getattr(settings, "UNSUBSCRIBE_EMAIL", ""):
        return configured
    domain = settings.DEFAULT_FROM_EMAIL.rstrip(">").rpartition("@")[2].strip()
    return f"unsubscribe@{domain}" if re.fullmatch(r"[A-Za-z0-9.-]+", domain) else ""


@dataclass(frozen=True)
class Hit:
    """A genuine open or click token: which send, and when its message was personalised."""

    send_id: int
    sent_at: int  # Unix time
    signature: str

    def seconds_since_send(self) -> float:
        return time.time() - self.sent_at


def read_open(token: str) -> Hit | None:
    return _read_hit(OPEN, token, b"")


def read_click(token: str, target: str) -> Hit | None:
    """The hit when the token was signed for exactly this target, an http(s) URL; None otherwise."""
    if len(target) > URL_MAX + 1000 or not is_http_url(target):
        return None
    return _read_hit(CLICK, token, target.encode(errors="surrogatepass"))


def _read_hit(purpose: str, token: str, extra: bytes) -> Hit | None:
    fields = signing.read(purpose, token, count=2, extra=extra)
    if fields is None:
        return None
    return Hit(send_id=int(fields[0], 36), sent_at=signing.field_time(fields[1]), signature=token.rpartition(".")[2])


def read_unsubscribe(token: str) -> int | None:
    """The send id of a genuine unsubscribe token."""
    fields = signing.read(UNSUBSCRIBE, token, count=1)
    return int(fields[0], 36) if fields else None
