"""Tier 2, scale-out: two workers with different names consume one queue and share a broadcast.

Nothing assigns work to a worker: each batch task queues the next batch before
sending its own, so whichever worker is free takes it, and the claims in the
database (campaigns/sending.py) keep two workers off the same row. Each worker
here sends through its own SMTP sink, so the split is counted exactly: both
sinks received messages, no address is in both, the two together hold every
mailable recipient once, and each worker's log shows batch tasks it ran.
"""

import os
import re
import uuid

import pytest

from campaigns import sending
from campaigns.models import Campaign, Send
from leads.models import Activity, Lead, LeadList, ListMembership
from mautomation.celery import app as celery_app
from mautomation.lib import normalize
from tests.factories import make_campaign, make_sender
from tests.integration import processes
from tests.integration.processes import wait_for
from tests.smtp_sink import start_sink
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAILABLE = 1000
BATCH = 50  # recipients per batch task: 20 tasks to share


def _audience() -> LeadList:
    emails = [f"scale{n:05d}@example.com" for n in range(MAILABLE)] + [f"gone{n}@example.com" for n in range(20)]
    leads = Lead.objects.bulk_create(
        Lead(email=email, email_key=normalize.email_key(email), consent=not email.startswith("gone"))
        for email in emails
    )
    everyone = LeadList.objects.create(name="everyone")
    ListMembership.objects.bulk_create(ListMembership(lead_list=everyone, lead=lead) for lead in leads)
    return everyone


def _env(queue: str, smtp_port: int) -> dict[str, str]:
    smtp = {"ESP": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port)}
    return {**os.environ, **smtp, "DATABASE_URL": _database_url(), "CELERY_QUEUE": queue, "SEND_BATCH_SIZE": str(BATCH)}


def _batches_run(log) -> int:
    return len(re.findall(r"Task campaigns\.tasks\.send_batch\[[^]]+\] succeeded", log.read_text(errors="replace")))


def test_two_workers_on_one_queue_split_a_broadcast_without_duplicates_or_gaps(tmp_path):
    queue = f"test-scale-{uuid.uuid4().hex[:8]}"
    previous_queue, celery_app.conf.task_default_queue = celery_app.conf.task_default_queue, queue
    sinks, workers, logs = [], [], [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    try:
        make_sender()
        campaign = make_campaign()
        campaign.lists.add(_audience())
        for name, log in zip(("scale-a", "scale-b"), logs, strict=True):
            sink, controller = start_sink()
            sinks.append((sink, controller))
            argv = processes.worker_argv(queue, f"{name}-{queue}", pool="solo")
            workers.append(processes.start(argv, env=_env(queue, controller.port), log=log))
        for log in logs:
            processes.wait_until_ready(log)
        assert sending.start(campaign=campaign) == MAILABLE
        sent = wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, 600)
        assert sent, processes.tail(logs[0]) + processes.tail(logs[1])
    finally:
        for worker in workers:
            processes.stop(worker)
        for _, controller in sinks:
            controller.stop()
        celery_app.conf.task_default_queue = previous_queue

    (a, _), (b, _) = sinks
    assert a.total > 0 and b.total > 0  # both did work
    assert _batches_run(logs[0]) > 0 and _batches_run(logs[1]) > 0
    assert set(a.received) & set(b.received) == set()  # nobody got a message from each
    assert {address for sink in (a, b) for address, count in sink.received.items() if count != 1} == set()
    assert set(a.received) | set(b.received) == {f"scale{n:05d}@example.com" for n in range(MAILABLE)}
    assert Send.objects.filter(campaign=campaign, status=Send.Status.SENT).count() == MAILABLE
    activities = Activity.objects.filter(kind=Activity.Kind.EMAIL_SENT, campaign_id=campaign.pk)
    assert activities.count() == MAILABLE and activities.values("lead").distinct().count() == MAILABLE
