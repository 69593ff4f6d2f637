"""Short, URL-safe signed tokens for links in emails (tracking, unsubscribe, visitor identity).

Django's own signing produces ~60-character tokens and costs several times
more per call; a link in an email is signed once per recipient and per link, so
this module keeps a 120-bit truncated HMAC-SHA256 (20 characters) under a key
derived from SECRET_KEY for each purpose, so a token made for one use (say, an
open pixel) is worthless for another (an unsubscribe).

A token is `<fields>.<signature>`, the fields being base-36 integers separated
by dots; extra signed data (a click's target URL) travels beside the token.
"""

import base64
import hmac
import re
import time
from functools import lru_cache

from django.conf import settings

SIGNATURE_BYTES = 15  # 120 bits: 20 base64 characters, no padding
SIGNATURE_CHARS = 20
# Seconds are counted from here so a timestamp stays 6 base-36 characters for decades.
EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
MAX_FIELD_CHARS = 13  # a base-36 integer up to 2**64
_TOKEN = re.compile(r"([0-9a-z]{1,13}(?:\.[0-9a-z]{1,13}){0,3})\.([A-Za-z0-9_-]{20})")


@lru_cache(maxsize=32)
def _key(purpose: str, secret: str) -> bytes:
    return hmac.digest(secret.encode(), b"mautomation.signing." + purpose.encode(), "sha256")


def key(purpose: str) -> bytes:
    """The key of one purpose; it follows SECRET_KEY (tests that override it get new keys)."""
    return _key(purpose, settings.SECRET_KEY)


def signature(signing_key: bytes, message: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.digest(signing_key, message, "sha256")[:SIGNATURE_BYTES]).decode()


def to36(number: int) -> str:
    """A non-negative integer in base 36 (shorter than decimal in a URL)."""
    if number < 0:
        raise ValueError("only non-negative integers are signed")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def now_field() -> str:
    """The current time as a token field (seconds since EPOCH)."""
    return to36(max(0, int(time.time()) - EPOCH))


def field_time(field: str) -> int:
    """The Unix time a now_field() holds."""
    return int(field, 36) + EPOCH


def make(purpose: str, *fields: int | str, extra: bytes = b"") -> str:
    """A token over integer fields (or fields already in base 36) and optional extra signed bytes."""
    body = ".".join(field if isinstance(field, str) else to36(field) for field in fields)
    return f"{body}.{signature(key(purpose), body.encode() + b'|' + extra)}"


def read(purpose: str, token: str, *, count: int, extra: bytes = b"") -> list[str] | None:
    """The base-36 fields of a genuine token of this purpose, or None (tampered, truncated, foreign)."""
    match = _TOKEN.fullmatch(token) if len(token) <= 80 else None
    if match is None:
        return None
    body, given = match.groups()
    fields = body.split(".")
    if len(fields) != count:
        return None
    expected = signature(key(purpose), body.encode() + b"|" + extra)
    return fields if hmac.compare_digest(expected, given) else None
