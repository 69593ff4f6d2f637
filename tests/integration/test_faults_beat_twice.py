"""Tier 2: two `celery beat` processes at once (a second scheduler started by mistake) send nothing twice.

Both beats run the product's own periodic tasks (the entries of
CELERY_BEAT_SCHEDULE, by name) with the interval shortened to two seconds, each
with its own schedule file as on two machines, until each beat has sent each
task three times. Two workers (two processes each) take the
tasks from one queue, so the duplicates really run at the same time. Seeded:
a campaign scheduled a minute ago for 40 leads, two sales owners with new hot
leads from yesterday (3 and 1), and 30 enrollments whose first step email is
due. Afterwards, exactly: the campaign started once and each recipient has one
message; one digest per owner; one step email per enrollment.
"""

import os
import sys
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.automation_models import Enrollment
from campaigns.models import Campaign, Send
from leads.models import Lead, LeadList, ListMembership
from mautomation.celery import app as celery_app
from mautomation.roles import SALES
from sales.models import DigestSent
from tests.campaigns.automation_helpers import make_sequence, steps_of
from tests.factories import make_campaign, make_sender, make_template, make_user
from tests.integration import processes
from tests.integration.processes import wait_for
from tests.smtp_sink import start_sink
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ENTRIES = ["start-due-campaigns", "send-hot-lead-digest", "dispatch-due-steps", "recover-sends"]
TICKS = 3  # both beats run until each has sent each entry this many times
BROADCAST, ENROLLED = 40, 30
BEAT = """
import sys
from datetime import timedelta
from mautomation.celery import app
entries = app.conf.beat_schedule
app.conf.beat_schedule = {{name: {{**entries[name], "schedule": timedelta(seconds=2)}} for name in {entries!r}}}
app.start(["beat", "-s", sys.argv[1], "-l", "info", "--pidfile="])
"""


def _leads(prefix: str, count: int, **fields) -> list[Lead]:
    return Lead.objects.bulk_create(
        Lead(email=f"{prefix}{n}@example.com", email_key=f"{prefix}{n}@example.com", consent=True, **fields)
        for n in range(count)
    )


def _seed() -> dict[str, str]:
    """The scheduled broadcast, the owners' new hot leads and the due enrollments; each owner's address."""
    make_sender()
    everyone = LeadList.objects.create(name="broadcast")
    ListMembership.objects.bulk_create(ListMembership(lead_list=everyone, lead=lead) for lead in _leads("b", BROADCAST))
    campaign = make_campaign(status=Campaign.Status.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=1))
    campaign.lists.add(everyone)
    owners = {name: make_user(name, role=SALES) for name in ("sato", "suzuki")}
    for user in owners.values():
        user.email = f"{user.username}@sales.example.com"
        user.save()
    yesterday = timezone.now() - timedelta(days=1)
    for name, count in (("sato", 3), ("suzuki", 1)):
        _leads(f"hot-{name}-", count, owner=owners[name], stage=Lead.Stage.MQL, mql_at=yesterday, score=80)
    sequence = make_sequence({"delay": 0, "template": make_template(name="ステップ1")}, {"delay": 3})
    first = steps_of(sequence)[0]
    due = timezone.now() - timedelta(minutes=1)
    Enrollment.objects.bulk_create(
        Enrollment(sequence=sequence, lead=lead, step=first, next_due_at=due, source="test")
        for lead in _leads("step", ENROLLED)
    )
    return {name: user.email for name, user in owners.items()}


def test_two_beats_at_once_start_a_campaign_once_send_each_digest_and_step_once(tmp_path):
    sink, controller = start_sink()
    queue = f"test-beat-{uuid.uuid4().hex[:8]}"
    previous, celery_app.conf.task_default_queue = celery_app.conf.task_default_queue, queue
    smtp = {"ESP": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(controller.port), "SALES_DIGEST_HOUR": "0"}
    env = {**os.environ, **smtp, "DATABASE_URL": _database_url(), "CELERY_QUEUE": queue}
    running = []
    try:
        owners = _seed()
        campaign = Campaign.objects.get()
        for name in ("w1", "w2"):
            argv = processes.worker_argv(queue, f"{name}-{queue}")
            running.append(processes.start(argv, env=env, log=tmp_path / f"worker-{name}.log"))
        for name in ("beat1", "beat2"):
            argv = [sys.executable, "-c", BEAT.format(entries=ENTRIES), str(tmp_path / f"{name}-schedule")]
            running.append(processes.start(argv, env=env, log=tmp_path / f"{name}.log"))
        ticked = wait_for(lambda: _ticks(tmp_path) >= TICKS or any(p.poll() is not None for p in running), 180)
        assert ticked and all(p.poll() is None for p in running), _logs(tmp_path)
        for beat in running[2:]:
            processes.stop(beat)
        expected = BROADCAST + len(owners) + ENROLLED
        assert wait_for(lambda: sink.total >= expected and _queued(queue) == 0, 120), _logs(tmp_path)
        for worker in running[:2]:
            processes.stop(worker)  # a warm shutdown: the tasks already taken run to the end
    finally:
        for process in running:
            processes.stop(process)
        controller.stop()
        celery_app.conf.task_default_queue = previous

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.recipients == BROADCAST
    assert Send.objects.filter(campaign=campaign).count() == BROADCAST
    assert Counter(sink.received[f"b{n}@example.com"] for n in range(BROADCAST)) == Counter({1: BROADCAST})
    assert [sink.received[address] for address in owners.values()] == [1, 1]
    assert DigestSent.objects.count() == 2
    assert Counter(sink.received[f"step{n}@example.com"] for n in range(ENROLLED)) == Counter({1: ENROLLED})
    assert sink.total == BROADCAST + len(owners) + ENROLLED  # nothing else, nothing twice


def _ticks(tmp_path) -> int:
    """How many times the beat that sent each entry least often sent it."""
    logs = [_log(tmp_path, f"beat{n}") for n in (1, 2)]
    return min(log.count(f"Sending due task {entry} ") for log in logs for entry in ENTRIES)


def _queued(queue: str) -> int:
    """Tasks still waiting in the queue (Redis keeps a Celery queue as a list under its name)."""
    with celery_app.connection_for_write() as connection:
        return connection.default_channel.client.llen(queue)


def _log(tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _logs(tmp_path) -> str:
    return "\n".join(f"--- {name}\n{_log(tmp_path, name)[-1500:]}" for name in ("beat1", "beat2", "worker-w1"))
