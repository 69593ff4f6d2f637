"""Starting the production topology's processes (gunicorn, a Celery worker, beat) and stopping them.

One copy for everything that runs the real stack on this machine: the smoke run
(scripts/smoke.py), the benchmarks (bench/services.py re-exports these) and the
end-to-end journey (tests/e2e/test_production_journey.py). Each server runs in a
process group of its own, so stopping it also stops gunicorn's and Celery's
children, and a Ctrl-C in the terminal reaches only the caller, whose cleanup
decides the order. This module imports no app.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

# Only these pass to the servers, so a developer's own DJANGO_ENV, CELERY_BROKER_URL
# or DEBUG never leaks into what is tested or measured.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT")


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's basic environment plus `settings`, and unbuffered output so a crash's last words reach the log."""
    env = {key: os.environ[key] for key in PASSTHROUGH_ENV if key in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the race with other programs is accepted)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_argv(
    app: str, port: int, host: str = "127.0.0.1", *, workers: int = 2, log_level: str = "warning"
) -> list[str]:
    """gunicorn with sync workers on one local port, run by this interpreter (the project's venv)."""
    return [sys.executable, "-m", "gunicorn", app, "--workers", str(workers), "--worker-class", "sync",
            "--bind", f"{host}:{port}", "--log-level", log_level,
            # gunicorn 23+ otherwise binds a control socket at one shared path (~/.gunicorn/gunicorn.ctl).
            "--no-control-socket"]  # fmt: skip


def worker_argv(queue: str, *, concurrency: int = 2, name: str = "") -> list[str]:
    """A Celery worker that takes only `queue`'s tasks, so it never serves another run sharing Redis."""
    return [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "-l", "info",
            "--concurrency", str(concurrency), "-Q", queue, "-n", f"{name or queue}@%h"]  # fmt: skip


def beat_argv(schedule: Path) -> list[str]:
    """Celery beat with its schedule file in `schedule` (a private path: two beats must not share it)."""
    return [sys.executable, "-m", "celery", "-A", "mautomation", "beat", "-l", "info", "-s", str(schedule)]


def start(argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start a server in a new session (its own process group), its output appended to `log`."""
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM to the group (a warm shutdown for celery and gunicorn), then SIGKILL whatever is left of it."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with suppress(ProcessLookupError):  # the group already gone is the normal case
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextmanager
def process(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, grace: float = 15
) -> Iterator[subprocess.Popen]:
    """A server for the length of a `with` block: always stopped, with its whole group, afterwards."""
    proc = start(argv, env=env, cwd=cwd, log=log)
    try:
        yield proc
    finally:
        stop(proc, grace)


def wait_for_port(port: int, proc: subprocess.Popen, *, timeout: float = 30) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; RuntimeError if `proc` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (code := proc.poll()) is not None:
            raise RuntimeError(f"the server exited with status {code} before accepting connections")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing accepted connections on port {port} within {timeout:g} s")
