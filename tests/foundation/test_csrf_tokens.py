"""CSRF form tokens made from one read of randomness are the tokens Django's own CSRF check accepts."""

import re
from collections import Counter

import pytest
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client, RequestFactory

from mautomation.lib import csrf_tokens
from tests.landing.form_helpers import aged_token
from tests.landing.page_helpers import hero, make_form, make_page


def test_random_chars_are_drawn_from_the_whole_alphabet_only():
    drawn = "".join(csrf_tokens.random_chars(64) for _ in range(300))
    counts = Counter(drawn)
    assert len(drawn) == 64 * 300 and set(counts) == set(csrf_tokens.ALPHABET)
    assert max(counts.values()) < 3 * min(counts.values())  # no character favoured by a modulo bias


def test_a_new_visitor_gets_a_secret_for_the_cookie_and_a_token_that_unmasks_to_it():
    request = RequestFactory().get("/")
    first, second = csrf_tokens.form_token(request), csrf_tokens.form_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert len(secret) == 32 and len(first) == 64 and first != second  # a fresh mask each time
    assert _unmask_cipher_token(first) == _unmask_cipher_token(second) == secret
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_a_returning_visitors_secret_is_kept():
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = "a" * 16 + "Z9" * 8
    assert _unmask_cipher_token(csrf_tokens.form_token(request)) == "a" * 16 + "Z9" * 8


@pytest.mark.django_db
def test_the_token_of_a_served_page_passes_djangos_csrf_check_and_a_tampered_one_does_not():
    form = make_form("contact")
    make_page(published=[hero(), {"type": "form", "form": "contact"}])
    browser = Client(enforce_csrf_checks=True)
    html = browser.get("/p/launch/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    assert _unmask_cipher_token(token) == browser.cookies["csrftoken"].value

    def submit(csrf: str, email: str) -> int:
        return browser.post("/f/contact/", {"csrfmiddlewaretoken": csrf, "_token": aged_token(form), "email": email},
                            HTTP_ACCEPT_LANGUAGE="en").status_code  # fmt: skip

    tampered = token[:40] + ("a" if token[40] != "a" else "b") + token[41:]
    assert submit(tampered, "x@example.com") == 403
    assert submit(token, "a@example.com") == 200
