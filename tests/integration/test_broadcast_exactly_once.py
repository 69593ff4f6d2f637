"""Tier 2, the done-when of issue 6: kill -9 the worker in the middle of a 10,000-recipient broadcast,
restart it, and every mailable recipient has one message in the SMTP sink, none has two, the others none.

Exactly once is what the design guarantees except in one window no SMTP sender can close, between
recording a message as sent and the server's acceptance of its final dot: see campaigns/marking.py.
The test states that window's exact bound instead of hoping the kill never lands in it."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.utils import timezone

from campaigns import sending
from campaigns.models import Campaign, Send
from leads.models import Activity, Lead, LeadList, ListMembership
from mautomation.celery import app as celery_app
from mautomation.lib import normalize
from tests.factories import make_campaign, make_sender
from tests.smtp_sink import start_sink
from tests.waiting import wait_for
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAILABLE = 10_000


def _leads() -> LeadList:
    specs = [(f"r{n:05d}@example.com", {"consent": True}) for n in range(MAILABLE)]
    specs += [(f"noconsent{n}@example.com", {"consent": False}) for n in range(100)]
    specs += [(f"unsub{n}@example.com", {"consent": True, "email_status": "unsubscribed"}) for n in range(100)]
    specs += [(f"bounced{n}@example.com", {"consent": True, "email_status": "bounced"}) for n in range(100)]
    leads = Lead.objects.bulk_create(
        Lead(email=email, email_key=normalize.email_key(email), last_name="山田", **fields) for email, fields in specs
    )
    lead_list = LeadList.objects.create(name="everyone")
    ListMembership.objects.bulk_create((ListMembership(lead_list=lead_list, lead=lead) for lead in leads), 2000)
    return lead_list


def _worker(queue: str, port: int, log) -> subprocess.Popen:
    smtp = {"ESP": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    env = {**os.environ, **smtp, "DATABASE_URL": _database_url(), "CELERY_QUEUE": queue}
    command = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "-P", "prefork", "-c", "2", "-l", "info"]
    command += ["-Q", queue, "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h", "--without-mingle", "--without-gossip"]
    # Its own process group, so kill -9 takes the pool's children too, as a machine crash would.
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_killed_worker_mid_broadcast_then_restarted_sends_exactly_one_message_each(tmp_path):
    sink, controller = start_sink()
    queue = f"test-send-{uuid.uuid4().hex[:8]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - shared by both workers, closed below
    workers = []
    try:
        make_sender()
        campaign = make_campaign()
        campaign.lists.add(_leads())
        workers.append(_worker(queue, controller.port, log))
        t0 = time.monotonic()
        assert sending.start(campaign=campaign) == MAILABLE

        started = wait_for(lambda: sink.total >= 2000 or workers[0].poll() is not None, 900)
        assert started and workers[0].poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=30)
        killed_at = sink.total
        assert killed_at < MAILABLE  # killed mid-way

        timings = {"killed": time.monotonic() - t0}
        sending.recover(older_than=timezone.timedelta(0))  # what the periodic sweeper does after the timeout
        workers.append(_worker(queue, controller.port, log))
        done = wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, 900)
        assert done, (tmp_path / "worker.log").read_text()[-3000:]
        timings["done"] = time.monotonic() - t0
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
        celery_app.conf.task_default_queue = previous_queue
        controller.stop()
        log.close()

    mailable = {f"r{n:05d}@example.com" for n in range(MAILABLE)}
    assert {address for address, count in sink.received.items() if count != 1} == set()  # never twice
    assert set(sink.received) <= mailable
    # Never skipped, but for the one window SMTP leaves (campaigns/marking.py): a kill between the
    # database committing the "sent" mark and the final dot leaving (the commit's answer reaching the
    # worker, then one write). At most one message per killed pool process (concurrency 2) can fall
    # there, and it is one recorded as sent that the server never accepted.
    missing = mailable - set(sink.received)
    assert len(missing) <= 2, sorted(missing)[:10]
    assert set(Send.objects.filter(email__in=missing).values_list("status", flat=True)) <= {Send.Status.SENT}
    assert Send.objects.filter(campaign=campaign, status=Send.Status.SENT).count() == MAILABLE
    sent = Activity.objects.filter(kind=Activity.Kind.EMAIL_SENT, campaign_id=campaign.pk)
    unrecorded = list(Send.objects.filter(recorded=False).values("pk", "status", "sent_at", "claimed_at", "error"))
    print("TIMING", timings, "unrecorded", unrecorded, "killed at", killed_at, "in the window", len(missing))
    assert sent.count() == MAILABLE and sent.values("lead").distinct().count() == MAILABLE
