"""Unsubscribing from a marketing email: the confirmation page and the RFC 8058 one-click POST."""

import pytest
from django.test import Client

from campaigns import tracking
from leads.models import Activity, Consent, Lead
from tests.factories import make_campaign, make_lead, make_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def send():
    lead = make_lead("hanako@example.co.jp", consent=True)
    Consent.objects.create(lead=lead, method=Consent.Method.FORM, wording="同意します")
    return make_send(lead, campaign=make_campaign())


def page(send) -> str:
    return "/e/u/" + tracking.unsubscribe_token(send.pk)


def one_click(send) -> str:
    return page(send) + "/one-click"


def unsubscribed(send) -> bool:
    return Lead.objects.get(pk=send.lead_id).email_status == Lead.EmailStatus.UNSUBSCRIBED


def test_the_link_shows_a_page_with_a_button_and_changes_nothing(client, send):
    response = client.get(page(send), HTTP_ACCEPT_LANGUAGE="ja")
    body = response.content.decode()
    assert response.status_code == 200 and "hanako@example.co.jp" in body and 'method="post"' in body
    assert "配信停止" in body
    assert not unsubscribed(send) and not Activity.objects.exists()


def test_the_page_is_in_english_for_an_english_browser(client, send):
    body = client.get(page(send), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Stop receiving marketing emails at" in body


def test_the_button_unsubscribes_revokes_consent_and_records_the_event(client, send):
    response = client.post(page(send))
    assert response.status_code == 200 and "csrf" not in response.content.decode().lower()
    lead = Lead.objects.get(pk=send.lead_id)
    assert (lead.email_status, lead.consent, lead.mailable) == (Lead.EmailStatus.UNSUBSCRIBED, False, False)
    assert Consent.objects.get().revoked_at is not None
    event = Activity.objects.get(kind=Activity.Kind.UNSUBSCRIBED)
    assert (event.lead_id, event.campaign_id, event.data["via"]) == (send.lead_id, send.campaign_id, "page")


def test_the_pages_post_needs_its_csrf_token(send):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(page(send)).status_code == 403
    assert not unsubscribed(send)
    strict.get(page(send))
    token = strict.cookies["csrftoken"].value
    assert strict.post(page(send), {"csrfmiddlewaretoken": token}).status_code == 200
    assert unsubscribed(send)


def test_one_click_post_works_without_cookies_and_answers_200_without_redirect(send):
    client = Client(enforce_csrf_checks=True)
    form = "application/x-www-form-urlencoded"
    response = client.post(one_click(send), "List-Unsubscribe=One-Click", content_type=form)
    assert response.status_code == 200 and "Location" not in response and not response.cookies
    assert unsubscribed(send)


def test_one_click_is_idempotent(client, send):
    for _ in range(5):
        assert client.post(one_click(send), {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Activity.objects.filter(kind=Activity.Kind.UNSUBSCRIBED).count() == 1


def test_one_click_without_the_rfc_8058_body_changes_nothing(client, send):
    for body in ({}, {"List-Unsubscribe": "one-click"}, {"List-Unsubscribe": "One-Click" * 1000}):
        response = client.post(one_click(send), body)
        assert response.status_code == 400 and "List-Unsubscribe=One-Click" in response.content.decode()
    assert not unsubscribed(send)


def test_a_get_on_the_one_click_url_asks_first_and_its_button_posts_to_the_page(client, send):
    body = client.get(one_click(send)).content.decode()
    assert f'action="{page(send)}"' in body and not unsubscribed(send)


def test_a_bounced_lead_stays_bounced(client, send):
    Lead.objects.filter(pk=send.lead_id).update(email_status=Lead.EmailStatus.BOUNCED)
    assert client.post(one_click(send), {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Lead.objects.get(pk=send.lead_id).email_status == Lead.EmailStatus.BOUNCED


@pytest.mark.parametrize("suffix", ["", "/one-click"])
def test_tampered_truncated_or_foreign_tokens_get_a_plain_404(client, send, suffix):
    token = tracking.unsubscribe_token(send.pk)
    other = tracking.unsubscribe_token(send.pk + 1000)  # genuine, but no such send
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    moved = f"{send.pk + 1:x}." + token.split(".")[1]  # another send id under this send's signature
    for bad in (token[:-1], tampered, moved, other, "z" * 3000):
        for method in (client.get, client.post):
            response = method(f"/e/u/{bad}{suffix}", {"List-Unsubscribe": "One-Click"} if method == client.post else {})
            assert response.status_code == 404 and "Location" not in response
    assert not unsubscribed(send)


def test_an_address_with_markup_is_escaped_on_the_page(client):
    lead = make_lead('"<script>alert(1)</script>"@example.com', consent=True)
    body = client.get(page(make_send(lead))).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_too_many_requests_from_one_network_are_refused(client, send):
    statuses = [client.get(page(send)).status_code for _ in range(35)]
    assert statuses[:30] == [200] * 30 and set(statuses[30:]) == {429}


def test_the_next_broadcast_skips_a_lead_that_unsubscribed_in_one_click(client, send):
    client.post(one_click(send), {"List-Unsubscribe": "One-Click"})
    assert not Lead.objects.get(pk=send.lead_id).mailable
