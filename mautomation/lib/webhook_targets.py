"""Which URLs outbound webhooks may be posted to: the one SSRF rule for every app that calls out.

Addresses inside the network (loopback, private, link-local, multicast) are refused
unless WEBHOOK_ALLOW_PRIVATE (on outside production). Callers check when a URL is
saved and again when sending, because a name can resolve differently later.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


def url_problem(url: str) -> str:
    """Why this URL may not receive webhooks, or "" when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Use an http or https URL.")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError):
        return _("The host name does not resolve.")
    if any(_internal(address) for address in addresses):
        return _("The URL points inside the network (loopback or private address); it is refused.")
    return ""


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast
