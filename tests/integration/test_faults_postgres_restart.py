"""Tier 2: PostgreSQL restarted in the middle of a broadcast; every recipient still gets exactly one message.

The machine's shared PostgreSQL is never stopped: the test runs a cluster of its
own (tests/integration/private_postgres.py: `initdb` into a tmp dir under /tmp on
a free port; as root, which is how CI runs the tests, every PostgreSQL command
runs as the `postgres` user through `runuser -u postgres`, and the directory is
chowned to that user). A database there is migrated and seeded with a broadcast
by `manage.py` subprocesses, a prefork worker (two processes) sends it to the
SMTP sink, PostgreSQL is stopped with `pg_ctl stop -m fast` mid-send and started
again five seconds later. The same worker, never restarted, reconnects; the
send-recovery task (beat's `recover_sends`, here every few seconds with a short
claim timeout) releases the claims cut off by the outage and restarts the
campaign. Then each mailable recipient has exactly one message in the sink and
one `sent` Send, with one email_sent activity, and nobody else got anything.
"""

import os
import subprocess
import time
import uuid

import psycopg
import pytest

from campaigns.models import Campaign, Send
from leads.models import Activity
from mautomation.celery import app as celery_app
from tests.integration import processes
from tests.integration.private_postgres import PrivatePostgres, manage
from tests.integration.processes import wait_for
from tests.smtp_sink import start_sink

pytestmark = [pytest.mark.integration]

MAILABLE, UNMAILABLE = 1000, 50
STOP_AFTER = 300  # messages in the sink when PostgreSQL goes down


def seed() -> None:
    """Run by `manage.py shell` against the private database: leads, a list, a campaign, started."""
    from campaigns import sending
    from leads.models import Lead, LeadList, ListMembership
    from mautomation.lib import normalize
    from tests.factories import make_campaign, make_sender

    specs = [(f"pg{n:05d}@example.com", True) for n in range(MAILABLE)]
    specs += [(f"noconsent{n}@example.com", False) for n in range(UNMAILABLE)]
    leads = Lead.objects.bulk_create(
        Lead(email=email, email_key=normalize.email_key(email), consent=consent) for email, consent in specs
    )
    everyone = LeadList.objects.create(name="everyone")
    ListMembership.objects.bulk_create(ListMembership(lead_list=everyone, lead=lead) for lead in leads)
    make_sender()
    campaign = make_campaign()
    campaign.lists.add(everyone)
    assert sending.start(campaign=campaign) == MAILABLE


def query(url: str, sql: str) -> list[tuple]:
    """A fresh connection each time: the server restarts under the test."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute(sql).fetchall()
    except psycopg.OperationalError:
        return []


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


def test_postgres_restarted_mid_broadcast_each_recipient_gets_exactly_one_message(private_postgres, tmp_path):
    sink, controller = start_sink()
    queue = f"test-pg-{uuid.uuid4().hex[:8]}"
    url = private_postgres.create_database("mautomation")
    env = {**os.environ, "DATABASE_URL": url, "CELERY_QUEUE": queue, "ESP": "smtp", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(controller.port), "SEND_CLAIM_TIMEOUT": "5", "SEND_BATCH_SIZE": "100"}  # fmt: skip
    worker = None
    try:
        manage("migrate", "--noinput", "-v0", env=env)
        worker = processes.start(processes.worker_argv(queue, queue), env=env, log=tmp_path / "worker.log")
        manage("shell", "-c", "from tests.integration.test_faults_postgres_restart import seed; seed()", env=env)

        assert wait_for(lambda: sink.total >= STOP_AFTER, 300), processes.tail(tmp_path / "worker.log")
        private_postgres.stop()
        stopped_at = sink.total
        assert stopped_at < MAILABLE  # stopped mid-send
        time.sleep(5)  # the worker's tasks fail and retry against a server that is not there
        private_postgres.start()

        done = _recover_until_sent(url, queue, worker)
        assert done, _state(url) + processes.tail(tmp_path / "worker.log")
        assert worker.poll() is None  # the same worker, reconnected by itself
    finally:
        if worker is not None:
            processes.stop(worker)
        controller.stop()

    mailable = {f"pg{n:05d}@example.com" for n in range(MAILABLE)}
    assert {address for address, count in sink.received.items() if count != 1} == set()
    assert set(sink.received) == mailable
    assert sink.total - stopped_at > 0  # sent after the restart too
    assert query(url, f"SELECT status, count(*) FROM {Send._meta.db_table} GROUP BY status") == [("sent", MAILABLE)]
    activities = f"SELECT count(*), count(DISTINCT lead_id) FROM {Activity._meta.db_table} WHERE kind = 'email_sent'"
    assert query(url, activities) == [(MAILABLE, MAILABLE)]


def _recover_until_sent(url: str, queue: str, worker: subprocess.Popen) -> bool:
    """What beat does every minute (the claim timeout is 5 s here): resolve stale claims, restart the campaign."""
    campaigns = f"SELECT count(*) FROM {Campaign._meta.db_table} WHERE status = 'sent'"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and worker.poll() is None:
        if query(url, campaigns) == [(1,)]:
            return True
        celery_app.send_task("campaigns.tasks.recover_sends", queue=queue)
        time.sleep(3)
    return False


def _state(url: str) -> str:
    return f"sends by status: {query(url, f'SELECT status, count(*) FROM {Send._meta.db_table} GROUP BY status')}\n"
