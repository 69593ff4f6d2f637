"""A real Celery worker process for the integration tier.

It runs `celery -A mautomation worker` as a subprocess, pointed at the test
database that pytest-django created and at a queue of its own, so it never takes
tasks meant for another worker on the same Redis.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from mautomation.celery import app as celery_app
from mautomation.tasks import ping


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log_path = Path(tmp_path_factory.mktemp("worker")) / "worker.log"
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_QUEUE": queue}
    command = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "--pool", "solo", "-l", "info"]
    command += ["-Q", queue, "-n", f"{queue}@%h", "--without-mingle", "--without-gossip"]
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(process, log_path)
        yield process
    finally:
        celery_app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_ready(process: subprocess.Popen, log_path: Path) -> None:
    try:
        ping.delay("ready").get(timeout=60)
    except Exception as exc:
        process.kill()
        pytest.fail(f"the Celery worker did not answer ({exc}); its log:\n{log_path.read_text()[-3000:]}")
