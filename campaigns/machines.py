"""Machine opens and scanner clicks: which tracking hits no person made.

Apple Mail Privacy Protection fetches every image when a message arrives,
security gateways follow every link before the recipient sees it, and link
previewers send HEAD requests. Such hits are still recorded (a report may want
them) but flagged `{"machine": true, "reason": …}` in the activity's data, and
scoring and rates leave flagged hits out.

Gmail's image proxy is deliberately not a reason by itself: Google fetches the
image when the person opens the message (and caches it), so its hits are real
opens; only its prefetches right after delivery are caught, by the time rule.
"""

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

# Seconds after sending under which a hit is a machine's: a person needs longer to
# receive, open and read; gateways and prefetchers act as the message arrives.
OPEN_TOO_SOON = 10
CLICK_TOO_SOON = 30
# Apple's own network (17.0.0.0/8) is where Mail Privacy Protection fetches from.
KNOWN_PROXY_NETWORKS = ("17.0.0.0/8",)
_SCANNER_AGENT = re.compile(
    r"(?<!cu)bot\b|crawler|spider|scanner|preview|headless|phantomjs|python|curl/|wget|go-http-client|java/|okhttp"
    r"|libwww|httpclient|barracuda|mimecast|proofpoint|urldefense|symantec|trend ?micro|fortinet|sophos"
    r"|microsoft office existence|ms-office|skypeuripreview|slackbot|whatsapp|facebookexternalhit",
    re.IGNORECASE,
)
# Apple's proxy presents itself as a bare "Mozilla/5.0", which no real mail client sends.
_BARE_MOZILLA = "Mozilla/5.0"


@dataclass(frozen=True)
class Request:
    method: str
    user_agent: str
    client_ip: str
    seconds_since_send: float | None


def open_reason(hit: Request) -> str | None:
    """Why an open-pixel hit is a machine's, or None for a person's."""
    return _common_reason(hit, too_soon=OPEN_TOO_SOON) or (
        "apple_privacy_proxy" if hit.user_agent.strip() == _BARE_MOZILLA else None
    )


def click_reason(hit: Request) -> str | None:
    """Why a click is a scanner's, or None for a person's."""
    return _common_reason(hit, too_soon=CLICK_TOO_SOON)


def _common_reason(hit: Request, *, too_soon: int) -> str | None:
    if hit.method == "HEAD":
        return "head_request"
    if not hit.user_agent.strip():
        return "no_user_agent"
    if _SCANNER_AGENT.search(hit.user_agent):
        return "scanner_user_agent"
    if hit.client_ip and in_proxy_network(hit.client_ip):
        return "proxy_network"
    if hit.seconds_since_send is not None and hit.seconds_since_send < too_soon:
        return "too_soon_after_send"
    return None


def flag(reason: str | None) -> dict:
    """The activity data of a hit."""
    return {"machine": True, "reason": reason} if reason else {}


def in_proxy_network(client_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in proxy_networks(tuple(settings.TRACKING_MACHINE_NETWORKS)))


@lru_cache(maxsize=8)
def proxy_networks(configured: tuple[str, ...]) -> tuple:
    """The built-in proxy networks plus TRACKING_MACHINE_NETWORKS (a marketer's known gateways)."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in (*KNOWN_PROXY_NETWORKS, *configured))
