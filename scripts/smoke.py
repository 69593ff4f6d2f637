#!/usr/bin/env python
"""Smoke test of the production topology, without Docker.

Runs gunicorn, a Celery worker and Celery beat with DJANGO_ENV=production
settings against the local PostgreSQL (127.0.0.1:5432, user postgres, trust
auth) and Redis (127.0.0.1:6379, database 15), then walks the journey an
operator checks after a deploy: health, admin login, static files, a task
round trip through the broker and the API.

    .venv/bin/python scripts/smoke.py

Each step prints `ok   <step>` or `FAIL <step>: <why>`; the last line is
`N passed, N failed` (the CI reads it). Exits 0 only if every step passed.
Whatever happens, the processes it started are stopped, the database
mautomation_smoke is dropped and its Redis keys are deleted. The logs are
printed on failure and kept in the temporary directory named then.
"""

from __future__ import annotations

import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project's packages are not on the path yet

try:
    import psycopg
    import requests

    from mautomation.lib import servers  # starts and stops the servers, as bench/ and the journey test do
except ImportError as exc:  # still end with the summary line the CI reads
    print(f"FAIL imports: {exc}; run this with the project's venv: .venv/bin/python scripts/smoke.py")
    print("0 passed, 1 failed")
    sys.exit(1)

# The interpreter running this script is the project's venv: manage.py, gunicorn
# and celery run with it too (`python -m ...`), so PATH does not matter.
PYTHON = sys.executable
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
DB_NAME = "mautomation_smoke"
REDIS_URL = "redis://127.0.0.1:6379/15"
SUPERUSER = "smoke_admin"
HTTP_TIMEOUT = 10  # seconds per request
COMMAND_TIMEOUT = 180  # seconds per manage.py command (migrate on a fresh database is the slowest)
STARTUP_TIMEOUT = 30  # seconds for gunicorn to accept connections
HEARTBEAT_TIMEOUT = 60  # beat sends the first heartbeat 30 s after it starts
STOP_TIMEOUT = 20  # seconds between SIGTERM and SIGKILL
LOG_TAIL = 40  # lines of each log printed on failure
# BEHIND_TLS_PROXY=1: Django takes the scheme from this header. Every request
# claims https, as the TLS proxy in front of gunicorn would.
PROXY = {"X-Forwarded-Proto": "https"}


class StepFailed(Exception):
    """A step's check did not hold; the message is the `why` of its FAIL line."""


class Report:
    """Counts and prints the step lines."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def run(self, step: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except Exception as exc:  # any error fails this step only; the message says which
            self.fail(step, str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}")
            return False
        print(f"ok   {step}", flush=True)
        self.passed += 1
        return True

    def fail(self, step: str, why: str) -> None:
        print(f"FAIL {step}: {one_line(why)}", flush=True)
        self.failed += 1


@dataclass
class Smoke:
    """What the run created, so the cleanup knows what to undo."""

    tmp: Path
    tag: str  # unique per run: queue name, cache prefix, worker name
    env: dict[str, str]
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def one_line(text: str, limit: int = 400) -> str:
    # A FAIL line stays one line so the CI can grep it.
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())[:limit]


def make_env(tmp: Path, tag: str) -> dict[str, str]:
    # Only the calling shell's basic variables pass: a stray DEBUG or CELERY_BROKER_URL could change what is tested.
    return servers.clean_env(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        # Our own queue and cache prefix: no other worker takes our tasks, and
        # /healthz reads only our worker's heartbeat.
        CELERY_QUEUE=tag,
        CACHE_KEY_PREFIX=tag,
        ESP="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT="1025",
        EMAIL_USE_TLS="0",
        DEFAULT_FROM_EMAIL="ma@example.com",
        BEHIND_TLS_PROXY="1",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(tmp / "static"),
        MAUTOMATION_VAR_DIR=str(tmp / "var"),
    )


# --- Database -------------------------------------------------------------------


def admin_sql(statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(statement)


def create_database() -> None:
    drop_database()  # a previous run killed with SIGKILL may have left it
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')


def drop_database() -> None:
    # FORCE ends connections a killed process may have left (PostgreSQL >= 13).
    admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def delete_redis_keys(smoke: Smoke) -> None:
    # Our cache entries and Celery queue bindings carry the run's tag; other
    # users of Redis database 15 are left alone (no FLUSHDB). The redis client
    # is a project dependency, used from a child so this script needs only
    # requests and psycopg.
    code = (
        "import sys, redis\n"
        "r = redis.Redis.from_url(sys.argv[1], socket_timeout=5)\n"
        "keys = list(r.scan_iter(match='*' + sys.argv[2] + '*', count=500))\n"
        "if keys: r.delete(*keys)\n"
    )
    run_command([PYTHON, "-c", code, REDIS_URL, smoke.tag], smoke.env, timeout=30)


# --- Commands and processes ---------------------------------------------------------


def run_command(argv: list[str], env: dict[str, str], timeout: float = COMMAND_TIMEOUT) -> str:
    """Run a command to completion; its stdout, or StepFailed with the end of its output."""
    try:
        done = subprocess.run(argv, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"timed out after {timeout:g} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-4:])
        raise StepFailed(f"exit status {done.returncode}: {tail}")
    return done.stdout


def manage(smoke: Smoke, *args: str, extra_env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT) -> str:
    return run_command([PYTHON, "manage.py", *args], {**smoke.env, **(extra_env or {})}, timeout)


def start(smoke: Smoke, name: str, argv: list[str]) -> None:
    smoke.procs[name] = servers.start(argv, env=smoke.env, cwd=ROOT, log=smoke.tmp / f"{name}.log")


def start_servers(smoke: Smoke) -> None:
    smoke.port = servers.free_port()
    start(smoke, "gunicorn", servers.gunicorn_argv("mautomation.wsgi", smoke.port, log_level="info"))
    start(smoke, "worker", servers.worker_argv(smoke.tag, concurrency=2))
    start(smoke, "beat", servers.beat_argv(smoke.tmp / "beat-schedule"))


def wait_for_gunicorn(smoke: Smoke) -> None:
    try:
        servers.wait_for_port(smoke.port, smoke.procs["gunicorn"], timeout=STARTUP_TIMEOUT)
    except RuntimeError as exc:
        raise StepFailed(str(exc)) from None


def stop(name: str, proc: subprocess.Popen[bytes]) -> str | None:
    """Stop one process and its group; why it counts as a failure, or None."""
    crashed = proc.poll()
    servers.stop(proc, STOP_TIMEOUT)
    return None if crashed is None else f"{name} had exited early with status {crashed}"


def stop_all(smoke: Smoke) -> None:
    problems = []
    for name, proc in smoke.procs.items():
        try:
            if why := stop(name, proc):
                problems.append(why)
        except Exception as exc:  # e.g. stuck in uninterruptible I/O: report it, stop the others anyway
            problems.append(f"{name} would not stop: {exc}")
    if problems:
        raise StepFailed("; ".join(problems))


# --- HTTP ---------------------------------------------------------------------------


def get(
    smoke: Smoke, path: str, *, cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> requests.Response:
    # Cookies go explicitly with each request: they are Secure, so a session's
    # jar would never send them over this plain-http connection.
    return requests.get(
        smoke.base + path,
        headers={**PROXY, **(headers or {})},
        cookies=cookies,
        timeout=HTTP_TIMEOUT,
        allow_redirects=False,
    )


def expect_status(response: requests.Response, status: int) -> None:
    if response.status_code != status:
        raise StepFailed(
            f"{response.request.method} {response.url} answered {response.status_code}: {response.text[:200]}"
        )


def healthz_basics(smoke: Smoke) -> None:
    response = get(smoke, "/healthz")
    expect_status(response, 200)
    report = response.json()
    if report.get("database") != "ok" or report.get("broker") != "ok":
        raise StepFailed(f"report {report}")


def healthz_worker(smoke: Smoke) -> None:
    # Proves beat -> broker -> worker -> cache: beat schedules the heartbeat,
    # our worker (the only consumer of our queue) runs it, /healthz reads it.
    deadline = time.monotonic() + HEARTBEAT_TIMEOUT
    worker: dict[str, object] = {}
    while time.monotonic() < deadline:
        worker = get(smoke, "/healthz").json().get("worker", {})
        if worker.get("status") == "ok":
            return
        time.sleep(2)
    raise StepFailed(f"no fresh heartbeat within {HEARTBEAT_TIMEOUT} s; last worker report {worker}")


def security_headers(smoke: Smoke) -> None:
    headers = get(smoke, "/healthz").headers
    missing = [name for name in ("Strict-Transport-Security", "X-Content-Type-Options") if name not in headers]
    if missing:
        raise StepFailed(f"missing {', '.join(missing)}")


def admin_login(smoke: Smoke) -> None:
    page = get(smoke, "/admin/login/")
    expect_status(page, 200)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    cookie = page.cookies.get("csrftoken")
    if not match or not cookie:
        raise StepFailed("the login page set no CSRF cookie or form token")
    origin = smoke.base.replace("http://", "https://")  # what the browser would send through the proxy
    form = {"csrfmiddlewaretoken": match[1], "username": SUPERUSER, "password": smoke.password, "next": "/admin/"}
    response = requests.post(
        smoke.base + "/admin/login/",
        data=form,
        cookies={"csrftoken": cookie},
        headers={**PROXY, "Origin": origin, "Referer": origin + "/admin/login/"},
        timeout=HTTP_TIMEOUT,
        allow_redirects=False,
    )
    session = response.cookies.get("sessionid")
    if response.status_code != 302 or not session:
        raise StepFailed(f"POST answered {response.status_code} without a session (wrong password or CSRF?)")
    smoke.cookies = {"sessionid": session, "csrftoken": response.cookies.get("csrftoken") or cookie}


def require_login(smoke: Smoke) -> None:
    if "sessionid" not in smoke.cookies:
        raise StepFailed("skipped: no admin session (login failed)")


def admin_index(smoke: Smoke) -> None:
    require_login(smoke)
    response = get(smoke, "/admin/", cookies=smoke.cookies)
    expect_status(response, 200)
    # The index (body class "dashboard") lists the leads app; the login page has neither.
    if "dashboard" not in response.text or "/admin/leads/lead/" not in response.text:
        raise StepFailed("200 but not the admin index (no dashboard with the leads app)")


def admin_leads(smoke: Smoke) -> None:
    require_login(smoke)
    expect_status(get(smoke, "/admin/leads/lead/", cookies=smoke.cookies), 200)


def static_file(smoke: Smoke) -> None:
    # DEBUG is off, so Django itself serves no static files: a 200 here is whitenoise.
    response = get(smoke, "/static/admin/css/base.css")
    expect_status(response, 200)
    if not response.headers.get("Content-Type", "").startswith("text/css"):
        raise StepFailed(f"Content-Type {response.headers.get('Content-Type')!r}")


def task_round_trip(smoke: Smoke) -> None:
    # Independent of worker_ping: tells a broken task path from a broken command.
    code = (
        "import secrets; from mautomation.tasks import ping; nonce = secrets.token_hex(8); "
        "assert ping.delay(nonce).get(timeout=20) == nonce; print('round trip ok')"
    )
    manage(smoke, "shell", "-c", code, timeout=60)


def worker_ping(smoke: Smoke) -> None:
    manage(smoke, "worker_ping", "--timeout", "20", timeout=60)


def api_me(smoke: Smoke) -> None:
    lines = manage(smoke, "create_api_token", SUPERUSER).strip().splitlines()
    if not lines:
        raise StepFailed("create_api_token printed no key")
    response = get(smoke, "/api/v1/me/", headers={"Authorization": f"Token {lines[-1].strip()}"})
    expect_status(response, 200)
    if response.json().get("username") != SUPERUSER:
        raise StepFailed(f"answered {response.json()}")


# --- The run --------------------------------------------------------------------------


def deploy_check(smoke: Smoke) -> None:
    # Runs with the production default SECURE_SSL_REDIRECT=1: the servers turn
    # it off only because this script speaks plain http, which --deploy would
    # rightly report (security.W008).
    manage(smoke, "check", "--deploy", "--fail-level", "WARNING", extra_env={"SECURE_SSL_REDIRECT": "1"})


def create_superuser(smoke: Smoke) -> None:
    argv = ("createsuperuser", "--noinput", "--username", SUPERUSER, "--email", "smoke@example.com")
    manage(smoke, *argv, extra_env={"DJANGO_SUPERUSER_PASSWORD": smoke.password})


def setup(report: Report, smoke: Smoke) -> bool:
    """Database, settings check, schema, static files, superuser, servers; False if the journey cannot run."""
    # (name, action, required): a failed deploy check is reported but does not
    # stop the run, since the servers still start and the journey still tells
    # whether they work; the other steps are preconditions of the journey.
    steps: list[tuple[str, Callable[[], object], bool]] = [
        (f"create database {DB_NAME}", create_database, True),
        ("check --deploy --fail-level WARNING", lambda: deploy_check(smoke), False),
        ("migrate", lambda: manage(smoke, "migrate", "--noinput"), True),
        ("collectstatic", lambda: manage(smoke, "collectstatic", "--noinput"), True),
        (f"create superuser {SUPERUSER}", lambda: create_superuser(smoke), True),
        ("start gunicorn, celery worker and beat", lambda: start_servers(smoke), True),
        ("gunicorn accepts connections", lambda: wait_for_gunicorn(smoke), True),
    ]
    # all() stops at the first required step that fails.
    return all(report.run(name, action) or not required for name, action, required in steps)


def journey(report: Report, smoke: Smoke) -> None:
    """The HTTP and task checks; each runs even if an earlier one failed."""
    steps: list[tuple[str, Callable[[Smoke], None]]] = [
        ("/healthz 200 with database and broker ok", healthz_basics),
        (f"/healthz worker ok within {HEARTBEAT_TIMEOUT} s (beat -> broker -> worker)", healthz_worker),
        ("security headers (HSTS, nosniff) over the proxy", security_headers),
        ("admin login", admin_login),
        ("/admin/ index", admin_index),
        ("/admin/leads/lead/ list", admin_leads),
        ("static file served by whitenoise", static_file),
        ("task round trip (ping.delay().get())", task_round_trip),
        ("manage.py worker_ping --timeout 20", worker_ping),
        ("GET /api/v1/me/ with a create_api_token key", api_me),
    ]
    for name, step in steps:
        report.run(name, lambda step=step: step(smoke))


def cleanup(report: Report, smoke: Smoke) -> None:
    # Each part runs even if the one before failed: nothing is left behind.
    if smoke.procs:
        report.run("stop gunicorn, worker and beat", lambda: stop_all(smoke))
    report.run(f"drop database {DB_NAME}", drop_database)
    report.run("delete this run's Redis keys", lambda: delete_redis_keys(smoke))


def print_logs(smoke: Smoke) -> None:
    for log in sorted(smoke.tmp.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        print(f"--- last {len(lines)} lines of {log} ---", *lines, sep="\n")
    print(f"--- logs kept in {smoke.tmp} ---")


class Interrupted(BaseException):
    """SIGTERM: like Ctrl-C, a BaseException, so no step's `except Exception` swallows it."""


def on_sigterm(signum: int, frame: object) -> None:
    # A CI timeout sends SIGTERM: stop the run the way Ctrl-C does, so the cleanup still runs.
    raise Interrupted(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="mautomation-smoke-"))
    tag = f"smoke-{secrets.token_hex(4)}"
    smoke = Smoke(tmp=tmp, tag=tag, env=make_env(tmp, tag))
    report = Report()
    try:
        if setup(report, smoke):
            journey(report, smoke)
    except (Interrupted, KeyboardInterrupt) as exc:
        # Neither is a step's failure (Report.run lets them through): report it here.
        report.fail("run", f"interrupted ({exc or 'Ctrl-C'}); cleaning up")
    finally:
        # From here on a second Ctrl-C or SIGTERM must not cut the cleanup short
        # (it is bounded: STOP_TIMEOUT per process, then quick database and Redis calls).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup(report, smoke)
        if report.failed:
            print_logs(smoke)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
