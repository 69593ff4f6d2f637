"""Tier 2, the done-when of issue 7, with time moved forward by calling the dispatcher with `now`.

A form submit enrolls a lead through the real worker; the day-0 and day-3 emails
arrive once each in the SMTP sink, the day-3 one inside its send window; a
one-click unsubscribe stops the day-7 step; a worker restart in between changes
nothing. A trigger email fires within seconds of a page view, and not again
within its window.
"""

import os
import subprocess
import sys
import uuid
from datetime import time as clock
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client

from campaigns import tracking
from campaigns.automation_models import Enrollment, TriggerFire
from campaigns.automation_tasks import deliver_sends
from campaigns.models import Send
from campaigns.schedule import local_zone
from campaigns.step_dispatch import dispatch_due
from leads import stream
from leads.models import Activity
from mautomation.celery import app as celery_app
from mautomation.tasks import ping
from tests.campaigns.automation_helpers import mailable, make_sequence, make_trigger
from tests.factories import make_sender
from tests.smtp_sink import start_sink
from tests.waiting import wait_for
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
OFFICE = {"weekdays": "01234", "window_start": clock(9), "window_end": clock(18)}


class Worker:
    """A solo worker on a queue of its own, sending through SMTP to the sink; restartable."""

    def __init__(self, port: int, log_path):
        self.queue, self.port, self.log_path, self.process = f"auto-{uuid.uuid4().hex[:8]}", port, log_path, None

    def start(self) -> None:
        smtp = {"ESP": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "0"}
        env = {**os.environ, **smtp, "DATABASE_URL": _database_url(), "CELERY_QUEUE": self.queue}
        command = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "--pool", "solo", "-l", "info",
                   "-Q", self.queue, "-n", f"{self.queue}-{uuid.uuid4().hex[:4]}@%h", "--without-mingle",
                   "--without-gossip"]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            ping.delay("ready").get(timeout=60)
        except Exception as exc:
            self.stop()
            pytest.fail(f"the worker did not answer ({exc}):\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def drain(self) -> None:
        """The solo worker runs tasks in order: once this answers, everything queued before it is done."""
        ping.delay("drain").get(timeout=60)


@pytest.fixture
def sink():
    sink, controller = start_sink(keep=20)
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture
def worker(sink, tmp_path):
    worker = Worker(sink.port, tmp_path / "worker.log")
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = worker.queue
    worker.start()
    yield worker
    worker.stop()
    celery_app.conf.task_default_queue = previous


def deliver(result) -> None:
    for template_id, sources in result.sources.items():
        deliver_sends.delay(template_id, sources)


def test_nurture_sequence_day0_day3_then_unsubscribe_stops_day7(worker, sink):
    make_sender()
    make_sequence({"delay": 0}, {"delay": 3, **OFFICE}, {"delay": 4, **OFFICE}, entry_form_id=7)
    lead = mailable("nurture@example.com")
    with transaction.atomic():
        stream.record(kind=Activity.Kind.FORM_SUBMIT, lead=lead, form_id=7)
    assert wait_for(lambda: sink.received[lead.email] == 1), "the day-0 email did not arrive"

    enrollment = Enrollment.objects.get(lead=lead)
    day3 = enrollment.next_due_at.astimezone(local_zone())
    assert day3.weekday() < 5 and clock(9) <= day3.time() < clock(18)
    worker.stop()
    worker.start()  # a restart in between: nothing is lost, nothing is sent again
    assert dispatch_due(now=enrollment.next_due_at - timedelta(minutes=1)).steps == 0
    deliver(first := dispatch_due(now=enrollment.next_due_at))
    deliver(dispatch_due(now=enrollment.next_due_at))  # a second dispatcher at the same moment
    assert first.steps == 1
    assert wait_for(lambda: sink.received[lead.email] == 2), "the day-3 email did not arrive"

    last = Send.objects.filter(lead=lead, status=Send.Status.SENT).latest("pk")
    path = urlsplit(tracking.unsubscribe_url(last.pk)).path + "/one-click"
    assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    worker.drain()
    day7 = Enrollment.objects.get(lead=lead)
    deliver(dispatch_due(now=day3 + timedelta(days=5)))
    worker.drain()
    assert sink.received[lead.email] == 2
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.EXITED, day7.status
    assert Send.objects.filter(lead=lead).count() == 2


def test_trigger_email_fires_within_seconds_and_not_again_within_its_window(worker, sink):
    make_sender()
    make_trigger(url_contains="/pricing", once_per_days=7)
    lead = mailable("pricing@example.com")
    with transaction.atomic():
        stream.record(kind=Activity.Kind.PAGE_VIEW, lead=lead, url="https://www.example.com/pricing/")
    assert wait_for(lambda: sink.received[lead.email] == 1), "the trigger email did not arrive"
    with transaction.atomic():
        again = stream.record(kind=Activity.Kind.PAGE_VIEW, lead=lead, url="https://www.example.com/pricing/")
    assert wait_for(lambda: Activity.objects.get(pk=again.pk).processed_at is not None)
    worker.drain()
    assert sink.received[lead.email] == 1
    assert TriggerFire.objects.filter(lead=lead).count() == 1
