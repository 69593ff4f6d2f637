"""Tier 2: a conversion reaches a CRM endpoint through the real worker, signed; a failing one is retried."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sales.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_opportunity
from tests.sales.helpers import hot_lead, users
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.failures_left > 0:
            Receiver.failures_left -= 1
            self.send_response(503)
        else:
            Receiver.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def crm():
    Receiver.received, Receiver.failures_left = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_a_conversion_is_posted_signed_by_the_worker(celery_worker, crm):
    WebhookEndpoint.objects.create(name="CRM", url=crm, secret="k", events=["opportunity.created"])
    opportunity = make_opportunity(hot_lead(), users()["sales"])
    assert wait_for(lambda: Receiver.received)
    headers, body = Receiver.received[0]
    signed = hmac.new(b"k", headers["X-Mautomation-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Mautomation-Signature"] == f"sha256={signed}"
    assert json.loads(body)["data"]["id"] == opportunity.pk
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "delivered")


def test_a_failing_endpoint_is_retried_by_the_worker_and_logged(celery_worker, crm):
    Receiver.failures_left = 1
    WebhookEndpoint.objects.create(name="CRM", url=crm, secret="k", events=["opportunity.created"])
    make_opportunity(hot_lead(), users()["sales"])
    assert wait_for(lambda: WebhookDelivery.objects.get().attempts == 1)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("pending", 503)
    # The retry waits its backoff (30 s); the log already says why and when it failed.
    assert delivery.last_attempt_at is not None and "503" in delivery.error
