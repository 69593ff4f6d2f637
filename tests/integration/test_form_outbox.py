"""Tier 2: with the broker down, form submissions are all kept and all processed once it is back.

A private redis-server on a free port is the broker for this test only (the
machine's shared Redis is never stopped): a worker subprocess consumes it, the
private Redis is stopped, 100 submissions are posted, Redis is started again on
the same port, and the sweepers (run by that worker) process what was missed.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.test import Client
from django.utils import timezone

from landing.models import Submission
from landing.tasks import sweep_followups
from leads.models import Activity, Lead
from leads.tasks import sweep_activities
from mautomation.celery import app as celery_app
from mautomation.tasks import ping
from scoring.models import ScoringRule
from tests.landing.form_helpers import make_form, post
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SUBMISSIONS = 100
REPEATS = 20  # the first 20 people submit twice (the second time in capitals): 80 leads


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own, without persistence, that the test stops and starts."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir, self.process = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(argv, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        assert wait_for(lambda: self._pings(client), timeout=20), "the private redis-server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False


@pytest.fixture
def private_broker(tmp_path, settings):
    """The private Redis as Celery's broker, with a worker of its own on a queue of its own."""
    broker = PrivateRedis(tmp_path)
    broker.start()
    queue = f"outbox-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.broker_url, celery_app.conf.task_default_queue
    _use_broker(broker.url, queue)
    worker = _start_worker(broker.url, queue, tmp_path)
    try:
        ping.delay("ready").get(timeout=60)
        yield broker, tmp_path / "var" / "outbox"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        _use_broker(*previous)
        broker.stop()


def _use_broker(url: str, queue: str) -> None:
    celery_app.conf.broker_url, celery_app.conf.task_default_queue = url, queue
    # Forget the pools made for the previous broker (without closing them: the other tests' worker uses it).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _start_worker(broker_url: str, queue: str, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker_url, "CELERY_QUEUE": queue,
           "MAUTOMATION_VAR_DIR": str(tmp_path / "var"), "ESP": "file"}  # fmt: skip
    argv = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "--pool", "solo", "-l", "info", "-Q", queue,
            "-n", f"{queue}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat"]  # fmt: skip
    with open(tmp_path / "worker.log", "wb") as log:
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_with_redis_stopped_100_submissions_are_all_saved_and_processed_after_it_restarts(private_broker, settings):
    broker, outbox = private_broker
    settings.FORM_RATE_LIMIT_PER_MINUTE = settings.FORM_RATE_LIMIT_PER_FORM_PER_MINUTE = 10_000
    form = make_form(auto_reply=True, auto_reply_subject="outbox-test", auto_reply_body="ありがとうございます")
    ScoringRule.objects.create(
        name="初回の資料請求", event_kind="form_submit", form_id=form.pk, points=20, frequency="once"
    )
    ScoringRule.objects.create(name="資料請求", event_kind="form_submit", form_id=form.pk, points=5)
    broker.stop()

    client, statuses = Client(), Counter()
    for n in range(SUBMISSIONS):
        email = f"person{n % (SUBMISSIONS - REPEATS)}@example.co.jp"
        statuses[post(client, form, {"email": email.upper() if n >= SUBMISSIONS - REPEATS else email}).status_code] += 1
    assert statuses == Counter({200: SUBMISSIONS})  # the visitor never sees the broker's failure
    # Every post is kept as it came; the leads wait for a worker to hear of them.
    assert Submission.objects.count() == SUBMISSIONS and not Lead.objects.exists()
    assert not Activity.objects.filter(processed_at__isnull=False).exists()

    broker.start()  # the same port: the worker reconnects by itself
    _backdate()  # past the sweepers' grace period, so they take every row now
    sweep_activities.delay()
    sweep_followups.delay()  # ingests the submissions (leads, consents, activities), then sends their emails
    assert wait_for(lambda: not Submission.objects.filter(ingested_at__isnull=True).exists())
    assert Lead.objects.count() == SUBMISSIONS - REPEATS
    assert wait_for(lambda: not Activity.objects.filter(kind="form_submit", processed_at__isnull=True).exists())
    assert wait_for(lambda: not Submission.objects.filter(followups_sent_at__isnull=True).exists())

    activities = Activity.objects.filter(kind="form_submit")
    assert activities.count() == SUBMISSIONS and activities.filter(lead__isnull=True).count() == 0
    scores = Counter(Lead.objects.values_list("score", flat=True))
    assert scores == Counter({20 + 5 * 2: REPEATS, 20 + 5: SUBMISSIONS - 2 * REPEATS})
    replies = sum(path.read_text().count("Subject: outbox-test") for path in outbox.glob("*"))
    assert replies == SUBMISSIONS


def _backdate() -> None:
    earlier = timezone.now() - timedelta(minutes=5)
    Activity.objects.update(occurred_at=earlier)
    Submission.objects.update(created_at=earlier)
