"""Local services and subprocesses: reachability checks, a throwaway database, clean start and stop.

Starting and stopping servers is mautomation/lib/servers.py's, shared with scripts/smoke.py and the
end-to-end journey; its names are re-exported here for the benchmarks.
"""

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from bench.core import Skip
from mautomation.lib.servers import clean_env, free_port, gunicorn_argv, process, stop, worker_argv

__all__ = ["clean_env", "free_port", "gunicorn_argv", "process", "stop"]  # and this module's own functions


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


def tail(log: Path) -> str:
    """The line of a log that most likely says what went wrong: the last mentioning an error, else the last."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    # gunicorn's last words are "Reason: Worker failed to boot."; the cause is a few lines up.
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no output)"])[-1]


def with_worker(queue: str, *, env: dict[str, str], cwd: Path, log: Path, run: Callable[[], dict]) -> dict:
    """`run()` while a prefork worker (2 processes) serves `queue`; a failure says how the worker was doing."""
    argv = [*worker_argv(queue), "--loglevel", "WARNING", "--without-mingle", "--without-gossip"]
    with process(argv, env=env, cwd=cwd, log=log) as worker:
        try:
            return run()
        except RuntimeError as exc:
            state = "running" if worker.poll() is None else f"exited with {worker.returncode}"
            raise RuntimeError(f"{exc}; the worker is {state}, its last log line: {tail(log)}") from None
