"""Real processes for the fault and scale-out tests: Celery workers, beats and gunicorn, each in its own group.

Each runs from the repository root with the environment it is given, logs to a
file the test names (shown when it fails), and is stopped as in production: a
SIGTERM to the main process (a warm shutdown), then SIGKILL to whatever of its
process group is left.
"""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]


def start(argv: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def worker_argv(queue: str, name: str, *, pool: str = "prefork", concurrency: int = 2) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "-P", pool, "-c", str(concurrency),
            "-l", "info", "-Q", queue, "-n", f"{name}@%h", "--without-mingle", "--without-gossip"]  # fmt: skip


def wait_until_ready(log: Path, timeout: float = 120) -> None:
    """A Celery worker logs "<name> ready." once it consumes: work sent before that may all go to another."""
    assert wait_for(lambda: " ready." in tail(log, 100_000), timeout), tail(log)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def tail(log: Path, size: int = 3000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(no log)"
