"""Tier 2: with the broker down, form submissions are all kept and all processed once it is back.

A private redis-server on a free port is the broker for this test only (the
machine's shared Redis is never stopped): a worker subprocess consumes it. 500
submissions are posted through Django's test client: 100 with Redis up (the
worker ingests them as they come, and Redis is stopped without waiting for it,
so queued tasks die with it), 300 with Redis down, then Redis is started again
on the same port and the last 100 are posted (the web process still backs off
from the broker, so these too wait for the sweepers). The sweepers, run by that
worker, process what was missed: one lead per person, one activity per post, and
each person's score exactly as the rules say. One to two minutes on a busy 2-core machine.
"""

import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db.models import Count, Q, Sum
from django.test import Client
from django.utils import timezone

from landing.models import Submission
from landing.tasks import sweep_followups
from leads.models import Activity, Lead
from leads.tasks import sweep_activities
from mautomation.celery import app as celery_app
from mautomation.tasks import ping
from scoring.models import ScoreEntry, ScoringRule
from tests.landing.form_helpers import make_form, post
from tests.waiting import wait_for
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BEFORE, DURING, AFTER = 100, 300, 100  # posts with Redis up, down, and up again
SUBMISSIONS = BEFORE + DURING + AFTER
PEOPLE = BEFORE + DURING  # the posts after the restart are second submissions, in capitals


def address(n: int) -> str:
    """The n-th post's address: person 0…399 once each, then every third of them again (0, 3, … 297).

    The repeats' first posts fall before the outage (34) and during it (66).
    """
    return f"person{n}@example.co.jp" if n < PEOPLE else f"PERSON{(n - PEOPLE) * 3}@EXAMPLE.CO.JP"


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


def test_with_redis_stopped_during_500_submissions_all_are_saved_and_processed_once(private_broker, settings):
    broker, outbox = private_broker
    settings.FORM_RATE_LIMIT_PER_MINUTE = settings.FORM_RATE_LIMIT_PER_FORM_PER_MINUTE = 10_000
    form = make_form(auto_reply=True, auto_reply_subject="outbox-test", auto_reply_body="ありがとうございます")
    ScoringRule.objects.create(
        name="初回の資料請求", event_kind="form_submit", form_id=form.pk, points=20, frequency="once"
    )
    ScoringRule.objects.create(name="資料請求", event_kind="form_submit", form_id=form.pk, points=5)
    client, statuses = Client(), Counter()

    def submit(numbers: range) -> None:
        for n in numbers:
            statuses[post(client, form, {"email": address(n)}).status_code] += 1

    submit(range(BEFORE))
    broker.stop()  # while the worker may still be ingesting the first 100
    submit(range(BEFORE, BEFORE + DURING))
    assert Submission.objects.count() == BEFORE + DURING  # every post kept while no task can reach a worker
    broker.start()  # the same port: the worker reconnects by itself
    submit(range(BEFORE + DURING, SUBMISSIONS))
    assert statuses == Counter({200: SUBMISSIONS})  # the visitor never sees the broker's failure
    assert Submission.objects.count() == SUBMISSIONS

    assert _sweep_until_done(), "the sweepers did not finish what the outage left"
    _assert_exact_outcome(outbox)


def _done() -> bool:
    if Submission.objects.filter(Q(ingested_at__isnull=True) | Q(followups_sent_at__isnull=True)).exists():
        return False
    return not Activity.objects.filter(kind="form_submit", processed_at__isnull=True).exists()


def _sweep_until_done(rounds: int = 20) -> bool:
    """What beat does every minute, every 10 s here: the worker too backs off from a broker that was down,
    so the activities of submissions it ingests just after the restart wait for a later sweep."""
    for _ in range(rounds):
        _backdate()  # past the sweepers' grace period, so they take every row now
        sweep_activities.delay()
        sweep_followups.delay()  # ingests the submissions (leads, consents, activities), then sends their emails
        if wait_for(_done, timeout=10):
            return True
    return False


def _assert_exact_outcome(outbox: Path) -> None:
    """400 people, 500 posts: 100 people posted twice (score 20 + 5 + 5), 300 once (20 + 5)."""
    repeats = SUBMISSIONS - PEOPLE
    assert Lead.objects.count() == PEOPLE
    activities = Activity.objects.filter(kind="form_submit")
    assert activities.count() == SUBMISSIONS and activities.filter(lead__isnull=True).count() == 0
    assert Submission.objects.filter(lead__isnull=True).count() == 0
    scores = Counter(Lead.objects.values_list("score", flat=True))
    assert scores == Counter({20 + 5 * 2: repeats, 20 + 5: PEOPLE - repeats})
    ledger = ScoreEntry.objects.values("lead").annotate(total=Sum("points"), rows=Count("pk"))
    assert Counter((row["total"], row["rows"]) for row in ledger) == Counter(
        {(30, 3): repeats, (25, 2): PEOPLE - repeats}
    )
    replies = sum(path.read_text().count("Subject: outbox-test") for path in outbox.glob("*"))
    assert replies == SUBMISSIONS


def _backdate() -> None:
    earlier = timezone.now() - timedelta(minutes=5)
    Activity.objects.update(occurred_at=earlier)
    Submission.objects.update(created_at=earlier)
