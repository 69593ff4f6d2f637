"""ESP tracking webhooks (through django-anymail): authenticated, matched to sends, recorded once, applied."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from campaigns.models import Send
from leads.models import Activity, Consent, Lead
from tests.factories import make_campaign, make_lead, make_send

pytestmark = pytest.mark.django_db

SECRET = "hook:s3cret-value"
POSTMARK = "/anymail/postmark/tracking/"
MAILGUN = "/anymail/mailgun/tracking/"
MAILGUN_KEY = "mailgun-signing-key"


@pytest.fixture(autouse=True)
def _webhooks_on(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


@pytest.fixture
def send():
    lead = make_lead("hanako@example.co.jp", consent=True)
    Consent.objects.create(lead=lead, method=Consent.Method.FORM)
    return make_send(lead, campaign=make_campaign(), message_id="pm-0001")


def auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def postmark(client, body: dict | bytes, **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(POSTMARK, raw, content_type="application/json", **{**auth(), **extra})


def bounce(**fields) -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": "HardBounce",
        "MessageID": "pm-0001",
        "Email": "hanako@example.co.jp",
        "BouncedAt": "2026-11-24T01:00:00Z",
        "Description": "The server was unable to deliver your message",
        "Details": "550 5.1.1 no such user",
        **fields,
    }


def status(send) -> str:
    return Lead.objects.get(pk=send.lead_id).email_status


def test_a_hard_bounce_is_recorded_on_the_send_and_stops_later_sends(client, send):
    assert postmark(client, bounce()).status_code == 200
    event = Activity.objects.get(kind=Activity.Kind.EMAIL_BOUNCED)
    assert (event.lead_id, event.campaign_id) == (send.lead_id, send.campaign_id)
    assert event.data["esp"] == "Postmark" and event.data["permanent"] is True
    assert status(send) == Lead.EmailStatus.BOUNCED and not Lead.objects.get(pk=send.lead_id).mailable


def test_a_soft_bounce_is_recorded_but_does_not_suppress(client, send):
    postmark(client, bounce(Type="SoftBounce", Details="452 4.2.2 mailbox full"))
    assert Activity.objects.get().data["permanent"] is False
    assert status(send) == Lead.EmailStatus.OK


def test_the_same_event_delivered_five_times_is_recorded_once(client, send):
    for _ in range(5):
        assert postmark(client, bounce()).status_code == 200
    assert Activity.objects.count() == 1


def test_a_complaint_suppresses_revokes_consent_and_outranks_a_later_bounce(client, send):
    complaint = bounce(Type="SpamComplaint", RecordType="SpamComplaint", ID=43)
    postmark(client, complaint)
    postmark(client, bounce())
    lead = Lead.objects.get(pk=send.lead_id)
    assert (lead.email_status, lead.consent) == (Lead.EmailStatus.COMPLAINED, False)
    assert Consent.objects.get().revoked_at is not None
    data = Activity.objects.get(kind=Activity.Kind.UNSUBSCRIBED).data
    assert (data["reason"], data["complaint"]) == ("complained", True)


def test_an_unsubscribe_at_the_esp_goes_through_consents(client, send):
    change = {
        "RecordType": "SubscriptionChange",
        "MessageID": "pm-0001",
        "Recipient": "hanako@example.co.jp",
        "ChangedAt": "2026-11-24T02:00:00Z",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
    }
    postmark(client, change)
    lead = Lead.objects.get(pk=send.lead_id)
    assert (lead.email_status, lead.consent) == (Lead.EmailStatus.UNSUBSCRIBED, False)
    assert Activity.objects.get().kind == Activity.Kind.UNSUBSCRIBED


def test_delivered_opened_and_clicked_become_activities_with_machine_flags(client, send):
    # The events' times are fixed, so the send's time must be too: "seconds after sending" is relative to it.
    Send.objects.filter(pk=send.pk).update(sent_at=datetime(2026, 11, 24, 0, 59, tzinfo=UTC))
    base = {"MessageID": "pm-0001", "Recipient": "hanako@example.co.jp"}
    postmark(client, {**base, "RecordType": "Delivery", "DeliveredAt": "2026-11-24T01:00:00Z"})
    postmark(client, {**base, "RecordType": "Open", "ReceivedAt": "2026-11-24T03:00:00Z", "UserAgent": "Mozilla/5.0"})
    link, agent = "https://www.example.com/doc", "Mozilla/5.0 (Windows NT 10.0) Chrome/124"
    click = {"RecordType": "Click", "ReceivedAt": "2026-11-24T03:00:01Z", "OriginalLink": link, "UserAgent": agent}
    postmark(client, {**base, **click})
    kinds = dict(Activity.objects.values_list("kind", "data"))
    assert set(kinds) == {Activity.Kind.EMAIL_DELIVERED, Activity.Kind.EMAIL_OPENED, Activity.Kind.EMAIL_CLICKED}
    assert kinds[Activity.Kind.EMAIL_OPENED]["machine"] is True
    assert "machine" not in kinds[Activity.Kind.EMAIL_CLICKED]
    assert Activity.objects.get(kind=Activity.Kind.EMAIL_CLICKED).url == "https://www.example.com/doc"


def test_an_event_for_an_unknown_message_falls_back_to_the_address(client, send):
    postmark(client, bounce(MessageID="not-ours", Email="HANAKO@example.co.jp"))
    event = Activity.objects.get()
    assert event.lead_id == send.lead_id and event.campaign_id is None


def test_an_event_for_nobody_we_know_is_accepted_and_ignored(client, send):
    assert postmark(client, bounce(MessageID="not-ours", Email="stranger@example.com")).status_code == 200
    assert not Activity.objects.exists() and status(send) == Lead.EmailStatus.OK


@pytest.mark.parametrize("secret", ["hook:wrong", "", "hook:s3cret-valu", SECRET + "x"])
def test_a_wrong_basic_auth_is_rejected(client, send, secret):
    response = (
        postmark(client, bounce(), **auth(secret))
        if secret
        else client.post(POSTMARK, json.dumps(bounce()), content_type="application/json")
    )
    assert response.status_code in (400, 401, 403)
    assert not Activity.objects.exists() and status(send) == Lead.EmailStatus.OK


def test_without_a_configured_secret_the_webhooks_are_off(client, send, settings):
    settings.ANYMAIL = {}
    assert postmark(client, bounce()).status_code == 404
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", json.dumps({"RecordType": "Bounce"}).encode(), json.dumps({"x": "y" * 200_000}).encode()],
)
def test_hostile_bodies_never_cause_a_500_and_record_nothing(client, send, body):
    response = postmark(client, body)
    assert response.status_code < 500
    assert not Activity.objects.exists()


def test_huge_fields_are_cut_to_fit(client, send):
    postmark(client, bounce(Description="長" * 100_000, Details="550 " + "x" * 100_000, ID="9" * 1000))
    event = Activity.objects.get()
    assert len(event.data["description"]) == 300 and len(event.dedup_key) <= 200


def mailgun_body(*, key: str = MAILGUN_KEY, event: str = "failed", severity: str = "permanent") -> dict:
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    data = {
        "event": event,
        "severity": severity,
        "timestamp": time.time(),
        "recipient": "hanako@example.co.jp",
        "message": {"headers": {"message-id": "pm-0001"}},
        "reason": "bounce",
    }
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}


def test_a_signed_mailgun_event_is_accepted_and_a_bad_signature_rejected(client, send):
    send.message_id = "<pm-0001>"
    send.save()
    bad = client.post(MAILGUN, json.dumps(mailgun_body(key="wrong")), content_type="application/json", **auth())
    assert bad.status_code == 400 and not Activity.objects.exists()
    good = client.post(MAILGUN, json.dumps(mailgun_body()), content_type="application/json", **auth())
    assert good.status_code == 200 and status(send) == Lead.EmailStatus.BOUNCED


def test_an_esp_whose_keys_are_not_set_answers_404_not_500(client, send, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    response = client.post(MAILGUN, json.dumps(mailgun_body()), content_type="application/json", **auth())
    assert response.status_code == 404
