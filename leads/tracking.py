"""Website tracking: anonymous page views under a first-party visitor id.

The marketer's site runs leads/static/leads/track.js, which keeps a random
visitor id in a cookie on the marketer's own domain and reports page views to
/t/pv. A person is never identified by IP address: the client address only
feeds a short-lived rate-limit counter, under a keyed hash, and is never stored
on an activity. A visitor becomes a person through leads.stream.identify(),
when a form or the API sends the visitor id along with an email address, or
when the visitor arrives through a tracked email link: the click redirect adds
a signed, short-lived `mt_lid` parameter naming the lead, which track.js sends
back with its page view (and removes from the address bar).
"""

import hashlib
import ipaddress
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from django.conf import settings
from django.utils.translation import gettext as _

from leads import stream
from leads.models import Activity, Lead
from mautomation.lib import ratelimit, signing

VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
URL_MAX = 2000
TITLE_MAX = 300
UTM_MAX = 300
_HTTP_URL = re.compile(r"https?://[^\x00-\x20\x7f/?#]+[^\x00-\x20\x7f]*", re.IGNORECASE)
# Control characters and lone surrogates: nothing a page title holds, and PostgreSQL refuses NUL.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# A click in an email lands with ?mt_lid=<token> naming its lead; track.js hands it back here.
IDENTITY_PARAM = "mt_lid"
IDENTITY_PURPOSE = "visitor-identity"
IDENTITY_MAX_AGE = 24 * 3600
BODY_MAX = 8 * 1024

# Fixed one-minute windows. A real browser sends one view per page load, so
# these only stop scripts; the per-IP one stops a script rotating visitor ids.
PER_VISITOR_LIMIT = 120
PER_IP_LIMIT = 600


@dataclass(frozen=True)
class PageView:
    visitor_id: str
    url: str
    referrer: str = ""
    title: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    identity: str = ""


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL without spaces or control characters, like a browser's location.href."""
    return bool(_HTTP_URL.fullmatch(value))


def clean_page_view(raw: Mapping[str, object]) -> tuple[PageView | None, str | None]:
    """A page view from the beacon's fields, or the reason it is refused."""
    reason = _shape_problem(raw) or _value_problem(raw)
    if reason:
        return None, reason
    utm = {key: raw[key].strip() for key in UTM_KEYS if raw.get(key, "").strip()}
    title = raw.get("title", "").strip()
    identity = raw.get(IDENTITY_PARAM, "")
    return PageView(raw["visitor_id"], raw["url"], raw.get("referrer", ""), title, utm, identity), None


def _shape_problem(raw: Mapping[str, object]) -> str | None:
    unknown = sorted(set(raw) - {"visitor_id", "url", "referrer", "title", IDENTITY_PARAM, *UTM_KEYS})
    if unknown:
        return _("unknown fields: %(names)s") % {"names": ", ".join(unknown)[:200]}
    if not all(isinstance(value, str) for value in raw.values()):
        return _("every field must be a string")
    if any(_UNSTORABLE.search(value) for value in raw.values()):
        return _("a field holds control characters or invalid Unicode")
    return None


def _value_problem(raw: Mapping[str, str]) -> str | None:
    referrer = raw.get("referrer", "")
    reason = (
        visitor_id_problem(raw.get("visitor_id", ""))
        or url_problem("url", raw.get("url", ""))
        or (url_problem("referrer", referrer) if referrer else None)
    )
    limits = {"title": TITLE_MAX, IDENTITY_PARAM: 80, **dict.fromkeys(UTM_KEYS, UTM_MAX)}
    return reason or next(filter(None, (_length_problem(raw, name, cap) for name, cap in limits.items())), None)


def visitor_id_problem(visitor_id: str) -> str | None:
    if VISITOR_ID.fullmatch(visitor_id):
        return None
    return _("visitor_id must be 16 to 64 letters, digits, '-' or '_'")


def url_problem(name: str, url: str) -> str | None:
    if len(url) > URL_MAX:
        return _("%(name)s is longer than %(max)d characters") % {"name": name, "max": URL_MAX}
    if not is_http_url(url):
        return _("%(name)s must be an http or https URL") % {"name": name}
    return None


def _length_problem(raw: Mapping[str, str], name: str, limit: int) -> str | None:
    if len(raw.get(name, "")) > limit:
        return _("%(name)s is longer than %(max)d characters") % {"name": name, "max": limit}
    return None


def record_page_view(*, visitor_id: str, url: str, referrer: str, title: str, utm: dict[str, str]) -> Activity:
    """Record a view; it lands on the visitor's lead (and is processed) once the visitor is identified."""
    data = {"title": title, "referrer": referrer, "utm": utm}
    return stream.record(kind=Activity.Kind.PAGE_VIEW, visitor_id=visitor_id, url=url, data=data)


def identity_token(lead_id: int) -> str:
    """What a tracked email link appends as ?mt_lid=: this lead, now; valid for IDENTITY_MAX_AGE."""
    return signing.make(IDENTITY_PURPOSE, lead_id, signing.now_field())


def identify_by_link(*, visitor_id: str, token: str) -> bool:
    """Join the visitor to the lead a fresh, genuine identity token names; anything else is ignored."""
    fields = signing.read(IDENTITY_PURPOSE, token, count=2)
    if fields is None or time.time() - signing.field_time(fields[1]) > IDENTITY_MAX_AGE:
        return False
    lead = Lead.objects.filter(pk=int(fields[0], 36)).first()
    if lead is None:
        return False
    stream.identify(visitor_id=visitor_id, lead=lead)
    return True


def over_limit(*, visitor_id: str, client_ip: str) -> bool:
    """Count this view against its visitor and its client network; True when either is over its limit."""
    per_ip, per_visitor = ratelimit.hit_all([f"t:pv:ip:{ip_bucket(client_ip)}", f"t:pv:v:{visitor_id}"])
    return per_ip > PER_IP_LIMIT or per_visitor > PER_VISITOR_LIMIT


def ip_bucket(client_ip: str) -> str:
    """A keyed hash of the client's network: one address for IPv4, its /64 for IPv6 (one household)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        network = "unknown"
    else:
        prefix = 64 if address.version == 6 else 32
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    key = hashlib.sha256(settings.SECRET_KEY.encode()).digest()
    return hashlib.blake2b(network.encode(), key=key, digest_size=12).hexdigest()


def allowed_origin(origin: str) -> bool:
    return bool(origin) and origin in getattr(settings, "TRACKING_ALLOWED_ORIGINS", [])


def snippet_html(base_url: str) -> str:
    """The one tag a marketer puts on every page of their site, for this installation at base_url."""
    base = base_url.rstrip("/")
    static = settings.STATIC_URL if "://" in settings.STATIC_URL else f"{base}/{settings.STATIC_URL.lstrip('/')}"
    src = f"{static.rstrip('/')}/leads/track.js"
    return f'<script src="{escape(src)}" data-endpoint="{escape(base)}/t/" async></script>'
