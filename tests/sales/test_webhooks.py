"""CRM webhooks: events from conversions and hot leads, signed bodies, retries with backoff, a delivery log, no SSRF."""

import hashlib
import hmac
import json
import socket
from unittest import mock

import pytest
import requests
from django.core.exceptions import ValidationError
from django.utils.translation import override

from leads.models import Activity, Lead
from sales import webhooks
from sales.models import WebhookDelivery, WebhookEndpoint
from sales.opportunities import change_stage
from scoring.models import ScoringSettings
from tests.factories import make_lead, make_opportunity
from tests.sales.helpers import hot_lead, users
from tests.scoring.helpers import event, rule

pytestmark = pytest.mark.django_db


def endpoint(*events: str, url: str = "https://crm.example.com/hook") -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="CRM", url=url, secret="s3cret", events=list(events or WebhookEndpoint.Event.values)
    )


def ok_response(status: int = 200) -> mock.Mock:
    return mock.Mock(status_code=status, text="ok")


def test_a_conversion_and_a_stage_change_are_posted_signed(django_capture_on_commit_callbacks):
    endpoint()
    people = users()
    with mock.patch("sales.webhooks.requests.post", return_value=ok_response()) as post:
        with django_capture_on_commit_callbacks(execute=True):
            opp = make_opportunity(hot_lead(), people["sales"])
        with django_capture_on_commit_callbacks(execute=True):
            change_stage(opportunity=opp, to="won", user=people["sales"])
    assert [call.kwargs["headers"]["X-Mautomation-Event"] for call in post.call_args_list] == [
        "opportunity.created", "opportunity.changed"]  # fmt: skip
    call = post.call_args_list[1]
    headers, body = call.kwargs["headers"], call.kwargs["data"]
    expected = hmac.new(
        b"s3cret", headers["X-Mautomation-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Mautomation-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert (payload["event"], payload["data"]["stage"], payload["data"]["previous_stage"]) == (
        "opportunity.changed",
        "won",
        "opportunity",
    )
    assert call.kwargs["allow_redirects"] is False
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_an_endpoint_only_hears_the_events_it_chose(django_capture_on_commit_callbacks):
    endpoint(WebhookEndpoint.Event.LEAD_MQL)
    post = mock.patch("sales.webhooks.requests.post", return_value=ok_response())
    with post as posted, django_capture_on_commit_callbacks(execute=True):
        make_opportunity(hot_lead(), users()["sales"])
    assert posted.call_count == 0 and not WebhookDelivery.objects.exists()


def test_a_lead_becoming_hot_is_posted_from_the_activity_stream(django_capture_on_commit_callbacks):
    endpoint(WebhookEndpoint.Event.LEAD_MQL)
    ScoringSettings.objects.update_or_create(pk=1, defaults={"hot_threshold": 20})
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20)
    lead = make_lead("mql@example.co.jp")
    with mock.patch("sales.webhooks.requests.post", return_value=ok_response()) as post:
        with django_capture_on_commit_callbacks(execute=True):
            event(lead, Activity.Kind.FORM_SUBMIT)
        # The stage change is itself an activity: the worker processes it next.
        change = lead.activities.get(kind=Activity.Kind.STAGE_CHANGED)
        with django_capture_on_commit_callbacks(execute=True):
            from leads import stream

            stream.process(change.pk)
    assert post.call_count == 1
    payload = json.loads(post.call_args.kwargs["data"])
    assert (payload["event"], payload["data"]["email"], payload["data"]["stage"]) == (
        "lead.mql",
        "mql@example.co.jp",
        "mql",
    )


def test_failures_are_retried_with_backoff_and_logged_until_they_give_up():
    delivery_id = webhooks.notify(event="opportunity.created", payload={"id": 1})[0] if endpoint() else None
    with mock.patch("sales.webhooks.requests.post", side_effect=requests.ConnectionError("refused")):
        for _ in range(webhooks.MAX_ATTEMPTS - 1):
            assert webhooks.attempt(delivery_id) is False
        assert webhooks.attempt(delivery_id) is True  # given up: nothing left to do
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert "refused" in delivery.error
    assert [webhooks.backoff_seconds(n) for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


def test_a_server_error_is_logged_with_its_code_and_a_later_success_delivers():
    delivery_id = webhooks.notify(event="opportunity.created", payload={"id": 1})[0] if endpoint() else None
    with mock.patch("sales.webhooks.requests.post", return_value=mock.Mock(status_code=503, text="busy")):
        webhooks.attempt(delivery_id)
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("pending", 503, 1)
    with mock.patch("sales.webhooks.requests.post", return_value=ok_response(204)):
        assert webhooks.attempt(delivery_id)
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "delivered"


def test_the_task_asks_celery_for_a_retry_with_backoff_while_the_endpoint_fails():
    from sales.tasks import deliver_webhook

    endpoint()
    delivery_id = webhooks.notify(event="opportunity.created", payload={"id": 1})[0]
    failing = mock.patch("sales.webhooks.requests.post", return_value=mock.Mock(status_code=500, text="x"))
    retrying = mock.patch.object(deliver_webhook, "retry", side_effect=RuntimeError("retry"))
    with failing, retrying as retry, pytest.raises(RuntimeError):
        deliver_webhook.run(delivery_id)
    assert retry.call_args.kwargs["countdown"] == webhooks.backoff_seconds(1)
    with mock.patch("sales.webhooks.requests.post", return_value=ok_response()):
        deliver_webhook.run(delivery_id)
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "delivered"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/", "http://localhost/hook", "http://10.0.0.5/", "http://169.254.169.254/latest/",
            "http://[::1]/", "http://192.168.1.1/"],
)  # fmt: skip
def test_internal_addresses_are_refused_in_production(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    hook = WebhookEndpoint(name="x", url=url, events=["lead.mql"])
    with pytest.raises(ValidationError) as refused:
        hook.full_clean()
    assert "url" in refused.value.message_dict


@override("en")
def test_a_name_resolving_inside_the_network_later_is_refused_when_sending(settings):
    hook = endpoint(url="https://crm.example.com/hook")
    delivery_id = webhooks.notify(event="opportunity.created", payload={})[0]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    private = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]
    with (
        mock.patch("mautomation.lib.webhook_targets.socket.getaddrinfo", return_value=private),
        mock.patch("sales.webhooks.requests.post") as post,
    ):
        webhooks.attempt(delivery_id)
    assert post.call_count == 0
    assert "inside the network" in WebhookDelivery.objects.get(pk=delivery_id).error
    assert hook.deliveries.count() == 1


def test_internal_addresses_are_allowed_in_development_and_tests(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    WebhookEndpoint(name="x", url="http://127.0.0.1:9/", events=["lead.mql"]).full_clean()


@pytest.mark.parametrize("events", [[], ["lead.deleted"], "lead.mql"])
def test_unknown_or_no_events_are_refused(events):
    with pytest.raises(ValidationError) as refused:
        WebhookEndpoint(name="x", url="https://crm.example.com/", events=events).full_clean()
    assert "events" in refused.value.message_dict


def test_marketers_configure_webhooks_and_read_the_delivery_log_in_the_admin(client):
    people = users()
    client.force_login(people["marketer"])
    response = client.post("/admin/sales/webhookendpoint/add/", {
        "name": "Salesforce", "url": "https://crm.example.com/in", "events": ["lead.mql", "opportunity.created"],
        "secret": "abc", "active": "on"})  # fmt: skip
    assert response.status_code == 302, response.content
    assert WebhookEndpoint.objects.get().events == ["lead.mql", "opportunity.created"]
    webhooks.notify(event="lead.mql", payload={"id": 1})
    assert client.get("/admin/sales/webhookdelivery/").status_code == 200
    assert Lead.objects.count() == 0


def test_deliveries_whose_dispatch_was_lost_are_sent_by_the_sweeper():
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    endpoint()
    lost = webhooks.notify(event="opportunity.created", payload={"id": 1})[0]  # never dispatched: no commit here
    fresh = webhooks.notify(event="opportunity.created", payload={"id": 2})[0]
    WebhookDelivery.objects.filter(pk=lost).update(created_at=timezone.now() - timedelta(minutes=10))
    assert webhooks.stalled() == [lost]
    with mock.patch("sales.webhooks.requests.post", return_value=ok_response()) as post:
        call_command("send_pending_webhooks")
    assert post.call_count == 1
    assert WebhookDelivery.objects.get(pk=lost).status == "delivered"
    assert WebhookDelivery.objects.get(pk=fresh).status == "pending"
    # One in its backoff is Celery's; one not tried for longer than any backoff was lost.
    WebhookDelivery.objects.filter(pk=fresh).update(attempts=2, last_attempt_at=timezone.now() - timedelta(minutes=5))
    assert webhooks.stalled() == []
    WebhookDelivery.objects.filter(pk=fresh).update(last_attempt_at=timezone.now() - timedelta(hours=2))
    assert webhooks.stalled() == [fresh]


def test_the_webhook_sweeper_is_in_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["send-pending-webhooks"]["task"] == "sales.tasks.send_pending_webhooks"
