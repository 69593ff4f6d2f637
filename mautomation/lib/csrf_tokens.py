"""CSRF form tokens for public pages that new visitors load by the thousand, from one read of the OS's randomness.

django.middleware.csrf.get_token() draws each of the 64 random characters of a new
visitor's cookie secret and of the token's mask with a call of its own to the OS's
random source: on a landing page with a form that is most of the request. This
draws the same characters (uniform over Django's alphabet, by rejection sampling)
from one os.urandom() read and applies Django's masking: token = mask + each
secret character shifted by its mask character. CsrfViewMiddleware checks the
tokens exactly as its own (tests/foundation/test_csrf_tokens.py posts one).

A returning visitor's secret (its cookie, read by the middleware) is kept; a new
one is put where get_token() puts it, so the middleware sets the cookie.
"""

import os
import string

from django.http import HttpRequest

ALPHABET = string.ascii_letters + string.digits  # Django's CSRF_ALLOWED_CHARS
SECRET_LENGTH = 32  # Django's CSRF_SECRET_LENGTH
_INDEX = {char: position for position, char in enumerate(ALPHABET)}
_ACCEPTED = 256 - 256 % len(ALPHABET)  # bytes at or above this would favour the first characters


def random_chars(count: int) -> str:
    """`count` characters drawn uniformly from ALPHABET."""
    chars: list[str] = []
    while len(chars) < count:
        chars += [ALPHABET[byte % len(ALPHABET)] for byte in os.urandom(count + 8) if byte < _ACCEPTED]
    return "".join(chars[:count])


def form_token(request: HttpRequest) -> str:
    """What get_token(request) returns: a fresh mask over the visitor's (or a new) secret."""
    secret = request.META.get("CSRF_COOKIE")
    drawn = random_chars(SECRET_LENGTH if secret else 2 * SECRET_LENGTH)
    if not secret:
        secret, drawn = drawn[SECRET_LENGTH:], drawn[:SECRET_LENGTH]
    request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # the middleware sets or renews the cookie
    shifted = (ALPHABET[(_INDEX[s] + _INDEX[m]) % len(ALPHABET)] for s, m in zip(secret, drawn, strict=True))
    return drawn + "".join(shifted)
