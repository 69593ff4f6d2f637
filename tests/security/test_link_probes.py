"""Links in emails and forms under attack: open redirects, tampered, foreign and replayed tokens.

The answer to anything not genuine is a plain 404 (or the plain refusal page of its kind), never a
redirect elsewhere and never a 500; a genuine replay counts as the dedup rules say.
"""

import itertools
from urllib.parse import quote

import pytest
from django.test import Client

from campaigns import tracking
from landing import downloads, followups
from landing.models import Submission
from leads.models import Activity, Consent, Lead
from mautomation.lib import signing
from tests.campaigns.tracking_helpers import CHROME, click_paths, personalized, pixel_path, sent_ago
from tests.factories import make_campaign, make_lead, make_send
from tests.landing.form_helpers import make_form

pytestmark = pytest.mark.django_db

SIGNED = "https://www.example.com/doc"
HTML = f'<html><body><a href="{SIGNED}">資料</a></body></html>'
REDIRECT_PROBES = [
    "//evil.com", "/\\evil.com", "\\\\evil.com", "https://evil.com", "http://evil.com/doc",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "https:evil.com", "https://www.example.com.evil.com/doc", "https://www.example.com@evil.com/doc",
    "https://evil.com/https://www.example.com/doc", "https://www.example.com/doc/../../evil.com",
    "%2F%2Fevil.com", "https%3A%2F%2Fevil.com", "//%65vil.com", "https://evil.com%2F@www.example.com/doc",
    "https://www.example.com/doc\r\nLocation: https://evil.com", "https://www.example.com/doc?x=1",
    "https://WWW.EXAMPLE.COM/doc", "https://www.example.com/doc#", SIGNED + " ", "\t" + SIGNED,
]  # fmt: skip
_addresses = itertools.count(1)


def fresh_client() -> Client:
    """A client from an address of its own: the probes must meet the token checks, not the bad-token rate limit."""
    n = next(_addresses)
    return Client(REMOTE_ADDR=f"10.{n // 250 % 250}.{n % 250}.1", HTTP_USER_AGENT=CHROME, raise_request_exception=False)


@pytest.fixture
def send(monkeypatch):
    sent_ago(monkeypatch, 3600)
    lead = make_lead("hanako@example.co.jp", consent=True)
    Consent.objects.create(lead=lead, method=Consent.Method.FORM, wording="同意します")
    return make_send(lead, campaign=make_campaign())


def assert_refused(response, *, statuses=(404,)) -> None:
    assert response.status_code in statuses, (response.request["PATH_INFO"], response.status_code)
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith(("text/plain", "text/html"))


@pytest.mark.parametrize("target", REDIRECT_PROBES)
def test_a_click_never_redirects_to_a_url_it_was_not_signed_for(send, target):
    token = click_paths(personalized(send.pk, HTML))[0].split("?")[0]
    queries = [f"u={quote(target, safe='')}", f"u={quote(SIGNED, safe='')}&u={quote(target)}"]
    # Unencoded too, unless a browser (and the test client) would drop part of it: a fragment, tabs, newlines.
    queries += [] if set(target) & set("#\t\r\n") else [f"u={target}"]
    for query in queries:
        assert_refused(fresh_client().get(f"{token}?{query}"))
    assert not Activity.objects.filter(kind=Activity.Kind.EMAIL_CLICKED).exists()


def test_the_genuine_click_redirects_to_exactly_the_signed_url(send):
    response = fresh_client().get(click_paths(personalized(send.pk, HTML))[0])
    assert response.status_code == 302
    assert response["Location"].split("?")[0] == SIGNED


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com/", "/\\evil.com", "javascript:alert(1)"])
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/i18n/setlang/"])
def test_login_and_language_pages_never_send_anyone_off_site(django_user_model, path, target):
    django_user_model.objects.create_user("root", password="pw-root", is_staff=True, is_superuser=True)
    data = {"username": "root", "password": "pw-root", "next": target, "language": "en"}
    response = Client().post(f"{path}?next={quote(target)}", data)
    location = response.get("Location", "")
    assert response.status_code in (200, 302)
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def tampered(token: str) -> list[str]:
    """Flips in every part, truncations, extensions and case changes of a genuine token; none is the token."""
    flips = [
        token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1 :] for i in (0, len(token) // 2, len(token) - 1)
    ]
    probes = [*flips, token[:-1], token[:-10], token[: len(token) // 2], token + "A", token + ".0",
              token.swapcase(), token.replace(".", "-"), "." + token, token + "%00", quote(token + "'--")]  # fmt: skip
    return [probe for probe in probes if probe != token]  # a token without dots is its own dot-replaced variant


def other_send_id(token: str, send_id: int) -> str:
    """The same signature on another send's id: another lead's link."""
    return signing.to36(send_id) + token[token.index(".") :]


def test_tampered_truncated_or_foreign_open_and_click_tokens_are_plain_404s_and_record_nothing(send):
    other = make_send(make_lead("jiro@example.co.jp", consent=True))
    html = personalized(send.pk, HTML)
    pixel, click = pixel_path(html), click_paths(html)[0]
    click_token, query = click.split("?")
    unsubscribe = tracking.unsubscribe_token(send.pk)
    probes = [f"/e/o/{token}" for token in [*tampered(pixel.rsplit("/", 1)[1]), unsubscribe]]
    probes += [f"{pixel.rsplit('/', 1)[0]}/{other_send_id(pixel.rsplit('/', 1)[1], other.pk)}"]
    probes += [f"/e/c/{token}?{query}" for token in tampered(click_token.rsplit("/", 1)[1])]
    probes += [f"/e/c/{pixel.rsplit('/', 1)[1]}?{query}", f"/e/c/{unsubscribe}?{query}"]
    probes += [f"/e/c/{other_send_id(click_token.rsplit('/', 1)[1], other.pk)}?{query}"]
    for probe in probes:
        assert_refused(fresh_client().get(probe))
    assert not Activity.objects.filter(kind__in=["email_opened", "email_clicked"]).exists()


def test_tampered_or_foreign_unsubscribe_tokens_unsubscribe_no_one(send):
    other = make_send(make_lead("jiro@example.co.jp", consent=True))
    token = tracking.unsubscribe_token(send.pk)
    pixel_token = pixel_path(personalized(send.pk, HTML)).rsplit("/", 1)[1]
    for bad in [*tampered(token), other_send_id(token, other.pk), pixel_token]:
        assert_refused(fresh_client().get(f"/e/u/{bad}"))
        assert_refused(fresh_client().post(f"/e/u/{bad}/one-click", {"List-Unsubscribe": "One-Click"}))
    assert set(Lead.objects.values_list("email_status", flat=True)) == {Lead.EmailStatus.OK}


def test_the_same_click_twice_counts_once_and_still_redirects(send):
    click = click_paths(personalized(send.pk, HTML))[0]
    client = fresh_client()
    assert [client.get(click).status_code for _ in range(2)] == [302, 302]
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_CLICKED, lead_id=send.lead_id).count() == 1


def test_an_unsubscribe_replayed_is_idempotent(send):
    token = tracking.unsubscribe_token(send.pk)
    client = fresh_client()
    answers = [client.post(f"/e/u/{token}/one-click", {"List-Unsubscribe": "One-Click"}).status_code for _ in "abc"]
    assert answers == [200, 200, 200]
    lead = Lead.objects.get(pk=send.lead_id)
    assert lead.email_status == Lead.EmailStatus.UNSUBSCRIBED
    assert Activity.objects.filter(lead=lead, kind=Activity.Kind.UNSUBSCRIBED).count() == 1
    assert Consent.objects.filter(lead=lead, revoked_at__isnull=False).count() == 1


def test_tampered_download_and_confirmation_tokens_get_the_refusal_page():
    form = make_form(double_opt_in=True)
    submission = Submission.objects.create(form=form, data={"email": "a@example.co.jp"}, consent_wording="同意")
    download = downloads.download_url(submission).rstrip("/").rsplit("/", 1)[1]
    confirm = followups.confirm_token(submission)
    for bad in tampered(download):
        assert_refused(fresh_client().get(f"/d/{bad}/"), statuses=(403, 404))
    for bad in tampered(confirm):
        assert_refused(fresh_client().post(f"/f/{form.slug}/confirm/{bad}/"), statuses=(403, 404))
    assert Submission.objects.get().confirmed_at is None
