"""Local services and subprocesses: reachability checks, a throwaway database, clean start and stop."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from bench.core import Skip

# Only these are passed through, so a developer's own DJANGO_ENV, CELERY_BROKER_URL
# or DEBUG never leaks into what is measured.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "VIRTUAL_ENV")


def clean_env(**settings: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSTHROUGH_ENV if key in os.environ}
    env["PYTHONUNBUFFERED"] = "1"  # so a crash's last words reach the log file
    env.update(settings)
    return env


def where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def require_redis(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise Skip(f"Redis at {where(url)} is not reachable ({first_line(exc)})") from None
    return client


def require_postgres(admin_url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        # psycopg nests "connection to server at ... failed: <reason>"; the reason is what helps.
        reason = first_line(exc).rsplit("failed: ", 1)[-1]
        raise Skip(f"PostgreSQL at {where(admin_url)} is not reachable ({reason})") from None


@contextmanager
def bench_database(admin_url: str, *, migrate_env: dict[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """Create a uniquely named database, migrate it, yield its URL, and always drop it."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    with require_postgres(admin_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**migrate_env, "DATABASE_URL": url}
        run_logged(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=cwd, log=log, what="migrate"
        )
        yield url
    finally:
        # A fresh connection: the run may have lasted longer than an idle one survives.
        # FORCE ends connections a killed gunicorn or worker may have left behind.
        with require_postgres(admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_logged(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, what: str, timeout: float = 300
) -> None:
    """Run a command to completion; on failure raise with the last line of its output."""
    with open(log, "wb") as out:
        done = subprocess.run(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{what} exited with {done.returncode}: {tail(log)}")


@contextmanager
def process(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, grace: float = 15
) -> Iterator[subprocess.Popen]:
    """Start a server in its own process group and always stop the whole group afterwards.

    Its own group so that prefork children (celery, gunicorn) go too, and so that
    Ctrl-C in the terminal reaches only us: the finally clause decides the order.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop(proc, grace)


def stop(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM (a warm shutdown for celery and gunicorn), then SIGKILL whatever is left of the group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with suppress(ProcessLookupError):  # the group already gone is the normal case
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def tail(log: Path) -> str:
    """The line of a log that most likely says what went wrong: the last mentioning an error, else the last."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    # gunicorn's last words are "Reason: Worker failed to boot."; the cause is a few lines up.
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no output)"])[-1]


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the race with other programs is accepted)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_argv(app: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """How every benchmark starts gunicorn: 2 sync workers, quiet logs, on one local port."""
    return [sys.executable, "-m", "gunicorn", app, "--workers", "2", "--worker-class", "sync",
            "--bind", f"{host}:{port}", "--log-level", "warning",
            # gunicorn 27 otherwise binds a control socket at one shared path (~/.gunicorn/gunicorn.ctl).
            "--no-control-socket"]  # fmt: skip
