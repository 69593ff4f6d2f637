"""Hosted form POSTs on gunicorn (32 clients), against a bare Django view that inserts one row."""

import http.client
import itertools
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import redis

from bench import services
from bench.bench_http import get
from bench.context import Context
from bench.core import Result, percentile

CLIENTS = 32
HOST = "127.0.0.1"
# What the TLS proxy in front of gunicorn would send (BEHIND_TLS_PROXY=1); Origin satisfies Django's HTTPS CSRF check.
HEADERS = {"Host": HOST, "X-Forwarded-Proto": "https", "Origin": f"https://{HOST}"}
FORM_SCRIPT = """
from landing.models import Form
from landing.submitting import issue_token
fields = [
    {{"key": "email", "type": "email", "label": "Email", "required": True, "maps_to": "email"}},
    {{"key": "company", "type": "text", "label": "Company", "maps_to": "company_name"}},
    {{"key": "consent", "type": "consent", "label": "OK", "wording": "I agree to receive email."}},
]
form = Form.objects.create(name="bench", slug={slug!r}, fields=fields, published=True, min_fill_seconds=0)
print(form.pk, issue_token(form))
"""
# The baseline: the same Django (settings, middleware, gunicorn) with one view that inserts one row.
BARE_MODULE = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
from django.conf import settings
settings.ROOT_URLCONF = "bench_bare"
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()  # sets Django up before the URLs below import the apps
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def insert(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_forms_row (email) VALUES (%s)", [request.POST.get("email", "")])
    return HttpResponse("ok")


urlpatterns = [path("bare/", insert), path("", include("mautomation.urls"))]
"""


def run(ctx: Context) -> list[Result]:
    r = services.require_redis(ctx.redis_url)  # cache (rate limits) and broker (follow-up tasks)
    prefix = f"bench-forms-{uuid.uuid4().hex[:10]}"
    workdir = ctx.workdir("forms")
    (workdir / "bench_bare.py").write_text(BARE_MODULE)
    env = ctx.production_env(
        CACHE_KEY_PREFIX=prefix,
        CELERY_QUEUE=prefix,
        PYTHONPATH=str(workdir),
        # The limits stay on (their cache round trips are part of the cost) but must not refuse one client's load.
        FORM_RATE_LIMIT_PER_MINUTE="10000000",
        FORM_RATE_LIMIT_PER_FORM_PER_MINUTE="10000000",
    )
    with psycopg.connect(ctx.database_url(), autocommit=True) as db:
        db.execute("CREATE TABLE bench_forms_row (id bigserial PRIMARY KEY, email text NOT NULL)")
    try:
        form_id, token = create_form(ctx, env, workdir, slug=prefix)
        return measure(ctx, env, workdir, slug=prefix, form_id=form_id, token=token)
    finally:
        cleanup(ctx, env, workdir, r, prefix)


def create_form(ctx: Context, env: dict[str, str], workdir: Path, *, slug: str) -> tuple[int, str]:
    log = workdir / "form.log"
    argv = [sys.executable, "manage.py", "shell", "-c", FORM_SCRIPT.format(slug=slug)]
    services.run_logged(argv, env=env, cwd=ctx.root, log=log, what="create the bench form")
    form_id, token = log.read_text().split()[-2:]
    return int(form_id), token


def measure(ctx: Context, env: dict[str, str], workdir: Path, *, slug: str, form_id: int, token: str) -> list[Result]:
    port, log = services.free_port(), workdir / "gunicorn.log"
    argv = services.gunicorn_argv("bench_bare:application", port, HOST)
    rounds, requests, seconds = ctx.pick(3, 1), ctx.pick(2000, 300), ctx.pick(20, 5)
    forms: list[Load] = []
    bare: list[Load] = []
    with services.process(argv, env=env, cwd=ctx.root, log=log) as server:
        wait_ready(port, server, log)
        cookie, csrf = csrf_pair(port, slug)
        form_post = form_request(slug, token=token, cookie=cookie, csrf=csrf)
        for n in range(rounds):  # interleaved, so a burst of noise on the machine hits both alike
            bare.append(load(port, bare_request, requests=requests, seconds=seconds, offset=n * requests))
            forms.append(load(port, form_post, requests=requests, seconds=seconds, offset=n * requests))
    check_nothing_lost(ctx, form_id=form_id, forms=forms, bare=bare)
    note = f"gunicorn sync x2, {CLIENTS} clients, median of {rounds}x{forms[0].ok} posts, 0 lost"
    baseline = "bare Django view inserting 1 row"
    return [
        Result.measured("forms.submit_rps", med(forms, "rps"), "req/s", baseline, med(bare, "rps"), note),
        Result.measured("forms.submit_p99", med(forms, "p99_ms"), "ms", f"{baseline} p99", med(bare, "p99_ms"), note),
    ]


Request = tuple[str, bytes, dict[str, str]]


def wait_ready(port: int, server, log: Path, timeout: float = 30) -> None:
    """Until /healthz answers 200; fail fast with gunicorn's last log line if it died."""
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}: {services.tail(log)}")
        try:
            status, body = get(port, "/healthz")
            if status == 200:
                return
            last = f"{status} {body[:200]}"
        except OSError as exc:  # not listening yet
            last = services.first_line(exc)
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready within {timeout:.0f}s: {last}")


def bare_request(i: int) -> Request:
    return "/bare/", urlencode({"email": f"bare{i}@bench-forms.example"}).encode(), {}


def form_request(slug: str, *, token: str, cookie: str, csrf: str) -> Callable[[int], Request]:
    def make(i: int) -> Request:
        fields = {"_token": token, "csrfmiddlewaretoken": csrf, "email": f"p{i}@bench-forms.example",
                  "company": "株式会社ベンチ", "consent": "on"}  # fmt: skip
        return f"/f/{slug}/", urlencode(fields).encode(), {"Cookie": f"csrftoken={cookie}"}

    return make


def csrf_pair(port: int, slug: str) -> tuple[str, str]:
    """The CSRF cookie and form token a browser gets with the hosted form."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", f"/f/{slug}/", headers=HEADERS)
        response = conn.getresponse()
        body = response.read().decode()
        cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", ""))
        field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if response.status != 200 or not cookie or not field:
            raise RuntimeError(f"GET /f/{slug}/ answered {response.status} without a CSRF token")
        return cookie[1], field[1]
    finally:
        conn.close()


class Load:
    def __init__(self, latencies: list[float], errors: list[str], seconds: float) -> None:
        self.ok, self.errors, self.seconds = len(latencies), errors, seconds
        self.rps = self.ok / seconds if seconds else 0.0
        self.p99_ms = percentile(latencies, 99) if latencies else float("nan")


def load(port: int, make: Callable[[int], Request], *, requests: int, seconds: float, offset: int) -> Load:
    """POST from CLIENTS keep-alive connections until `requests` are done or `seconds` have passed."""
    tickets, latencies, errors = itertools.count(offset), [], []
    start, stop_at = threading.Barrier(CLIENTS + 1), offset + requests

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        start.wait()
        deadline = time.perf_counter() + seconds
        while (i := next(tickets)) < stop_at and time.perf_counter() < deadline:
            path, body, extra = make(i)
            headers = {**HEADERS, **extra, "Content-Type": "application/x-www-form-urlencoded"}
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors.append(type(exc).__name__)
                continue
            if response.status == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors.append(str(response.status))
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    return Load(latencies, errors, time.perf_counter() - t0)


def check_nothing_lost(ctx: Context, *, form_id: int, forms: list[Load], bare: list[Load]) -> None:
    """Every answered 200 is a stored row, and every request was answered 200."""
    with psycopg.connect(ctx.database_url()) as db:
        submissions = db.execute("SELECT count(*) FROM landing_submission WHERE form_id = %s", [form_id]).fetchone()[0]
        rows = db.execute("SELECT count(*) FROM bench_forms_row").fetchone()[0]
    errors = [error for loaded in forms + bare for error in loaded.errors]
    if errors or submissions != sum(x.ok for x in forms) or rows != sum(x.ok for x in bare):
        raise RuntimeError(
            f"lost or refused: {len(errors)} errors ({sorted(set(errors))[:5]}), {submissions} submissions stored "
            f"for {sum(x.ok for x in forms)} accepted, {rows} bare rows for {sum(x.ok for x in bare)}"
        )


def med(loads: list[Load], attr: str) -> float:
    return statistics.median(getattr(x, attr) for x in loads)


CLEANUP_SCRIPT = """
from landing.models import Form, Submission
from leads.models import Activity, Lead
Submission.objects.filter(form__slug={slug!r}).delete()
Activity.objects.filter(form_id__in=Form.objects.filter(slug={slug!r}).values("pk")).delete()
Form.objects.filter(slug={slug!r}).delete()
Lead.objects.filter(email_key__endswith="@bench-forms.example").delete()
"""


def cleanup(ctx: Context, env: dict[str, str], workdir: Path, r: redis.Redis, prefix: str) -> None:
    """Leave the shared run database and Redis as they were: other benchmarks use them after us."""
    try:
        with psycopg.connect(ctx.database_url(), autocommit=True) as db:
            db.execute("DROP TABLE IF EXISTS bench_forms_row")
        argv = [sys.executable, "manage.py", "shell", "-c", CLEANUP_SCRIPT.format(slug=prefix)]
        services.run_logged(argv, env=env, cwd=ctx.root, log=workdir / "cleanup.log", what="cleanup")
    except Exception as exc:  # the database is dropped at the end of the run anyway
        print(f"bench: forms could not delete its rows ({services.first_line(exc)})", file=sys.stderr)
    try:
        keys = list(r.scan_iter(match=f"{prefix}:*", count=1000)) + [prefix, f"_kombu.binding.{prefix}"]
        for start in range(0, len(keys), 500):
            r.delete(*keys[start : start + 500])
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)
