"""The real stack for the production journey: gunicorn, a Celery worker and beat on the test database.

The servers run with DJANGO_ENV=production (DEBUG off, static files collected and
served by whitenoise) against the PostgreSQL test database pytest-django made and
the tier's Redis, on a queue and cache prefix of their own; emails go over SMTP to
tests/smtp_sink.py. The processes are started and stopped by mautomation/lib/servers.py,
the same code scripts/smoke.py and bench/ use. A second small server plays the
marketer's own website (http://localhost:PORT, another site than the product's
http://127.0.0.1:PORT), whose pages carry the tracking tag and an embedded form.
"""

import secrets
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from mautomation.celery import app as celery_app
from mautomation.lib import servers
from mautomation.tasks import ping
from tests.smtp_sink import Sink, start_sink
from tests.worker import _database_url

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60  # seconds for the worker to answer its first ping (its start imports every app)


@dataclass
class Stack:
    base: str  # the product, as the browser reaches it
    site: str  # the marketer's website
    queue: str
    sink: Sink
    logs: Path
    pages: dict[str, str] = field(default_factory=dict)  # the website's pages: path -> HTML

    def log_tails(self, lines: int = 30) -> str:
        """The end of every server log, for a failure message."""
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            parts += [f"--- {log.name}", *log.read_text(errors="replace").splitlines()[-lines:]]
        return "\n".join(parts)


def server_env(tmp: Path, *, port: int, site: str, queue: str, smtp_port: int) -> dict[str, str]:
    return servers.clean_env(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=queue,
        CACHE_KEY_PREFIX=queue,
        TRACKING_ALLOWED_ORIGINS=site,
        ESP="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        DEFAULT_FROM_EMAIL="marketing@example.co.jp",
        # The browser speaks plain http to 127.0.0.1, a secure context for Chromium (so Secure cookies work);
        # a TLS proxy would sit in front in production, and check --deploy (scripts/smoke.py) covers the rest.
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(tmp / "static"),
        MEDIA_ROOT=str(tmp / "media"),
        MAUTOMATION_VAR_DIR=str(tmp / "var"),
    )


def website(pages: dict[str, str]) -> ThreadingHTTPServer:
    """The marketer's site: serves `pages` (filled in by the test once it knows the embed code)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server API's name
            body = pages.get(self.path.split("?", 1)[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args) -> None:  # quiet: the test output is for assertions
            pass

    server = ThreadingHTTPServer(("127.0.0.1", servers.free_port()), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def collect_static(env: dict[str, str], logs: Path) -> None:
    argv = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    proc = servers.start(argv, env=env, cwd=ROOT, log=logs / "collectstatic.log")
    if proc.wait(120) != 0:
        pytest.fail(f"collectstatic failed:\n{(logs / 'collectstatic.log').read_text()[-2000:]}")


def wait_for_worker(stack: Stack) -> None:
    try:
        ping.delay("ready").get(timeout=READY_TIMEOUT)
    except Exception as exc:  # any failure here is the stack's: say which, with the logs
        pytest.fail(f"the Celery worker did not answer ({exc}):\n{stack.log_tails()}")


@contextmanager
def running_stack(tmp_path: Path) -> Iterator[Stack]:
    """gunicorn + worker + beat + SMTP sink + the marketer's website; everything stopped after.

    The caller holds a transactional test database (the servers must see its commits).
    """
    sink, smtp = start_sink(keep=50)
    site_server = website(pages := {})
    port, queue = servers.free_port(), f"journey-{secrets.token_hex(4)}"
    site = f"http://localhost:{site_server.server_address[1]}"
    env = server_env(tmp_path, port=port, site=site, queue=queue, smtp_port=smtp.port)
    stack = Stack(base=f"http://127.0.0.1:{port}", site=site, queue=queue, sink=sink, logs=tmp_path, pages=pages)
    collect_static(env, tmp_path)
    argvs = {
        "gunicorn": servers.gunicorn_argv("mautomation.wsgi", port, workers=3, log_level="info"),
        "worker": servers.worker_argv(queue, concurrency=2),
        "beat": servers.beat_argv(tmp_path / "beat-schedule"),
    }
    previous_queue, celery_app.conf.task_default_queue = celery_app.conf.task_default_queue, queue
    procs = {}
    try:
        for name, argv in argvs.items():
            procs[name] = servers.start(argv, env=env, cwd=ROOT, log=tmp_path / f"{name}.log")
        servers.wait_for_port(port, procs["gunicorn"])
        wait_for_worker(stack)
        yield stack
    finally:
        for proc in procs.values():
            servers.stop(proc)
        celery_app.conf.task_default_queue = previous_queue
        site_server.shutdown()
        smtp.stop()
