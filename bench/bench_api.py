"""The leads API (upsert, list) and tracking page views on gunicorn, against GET /api/v1/me/ and a static file."""

import http.client
import itertools
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

from bench import httpload, services
from bench.bench_http import CONCURRENCY, HEADERS, med, wait_ready
from bench.context import Context
from bench.core import Result, percentile

# method, path, body, extra headers
Request = tuple[str, str, bytes | None, dict[str, str]]

DOMAIN = "bench-api.example"
STATIC_SCRIPT = "/static/leads/track.js"


def run(ctx: Context) -> list[Result]:
    r = services.require_redis(ctx.redis_url)  # cache (throttles, rate limits) and broker
    prefix = f"bench-api-{uuid.uuid4().hex[:10]}"
    workdir = ctx.workdir("api")
    env = ctx.production_env(
        STATIC_ROOT=str(workdir / "static"),
        CACHE_KEY_PREFIX=prefix,
        CELERY_QUEUE=prefix,
        # The user throttle stays on (its cache round trips are part of the cost) but must not refuse the load.
        API_USER_RATE="10000000/minute",
    )
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    services.run_logged(collect, env=env, cwd=ctx.root, log=workdir / "collectstatic.log", what="collectstatic")
    try:
        token = create_token(ctx, env, workdir, username=prefix)
        return measure(ctx, env, workdir, token=token, tag=prefix.replace("-", ""))
    finally:
        cleanup(ctx, env, workdir, r, prefix)


def measure(ctx: Context, env: dict[str, str], workdir: Path, *, token: str, tag: str) -> list[Result]:
    port, log = services.free_port(), workdir / "gunicorn.log"
    argv = services.gunicorn_argv("mautomation.wsgi:application", port)
    rounds, requests, seconds = ctx.pick(3, 1), ctx.pick(1000, 200), ctx.pick(5, 2)
    loads: dict[str, list[httpload.Load]] = {name: [] for name in ("me", "upsert", "list", "static", "pv")}
    requests_for = scenarios(token, tag)
    with services.process(argv, env=env, cwd=ctx.root, log=log) as server:
        wait_ready(port, server, log)
        for name in loads:  # warm-up: each worker's first requests pay for lazy imports
            load(port, requests_for[name], requests=20, seconds=10, offset=10**9)
        for round_ in range(rounds):  # interleaved, so a burst of noise on the machine hits all alike
            for name, series in loads.items():
                series.append(load(port, requests_for[name], requests=requests, seconds=seconds, offset=round_ * 10**6))
    return results(loads, rounds)


def scenarios(token: str, tag: str) -> dict[str, Callable[[int], Request]]:
    auth = {"Authorization": f"Token {token}"}
    json_auth = {**auth, "Content-Type": "application/json"}

    def upsert(i: int) -> Request:
        body = {"email": f"{tag}-{i}@{DOMAIN}", "last_name": "ベンチ", "first_name": "太郎", "company_name": "Bench",
                "tags": [tag], "touch": {"utm_source": "bench", "url": "https://www.example.co.jp/lp"}}  # fmt: skip
        return "POST", "/api/v1/leads/", json.dumps(body).encode(), json_auth

    def page_view(i: int) -> Request:
        # A different visitor from a different address each time, as real traffic is: the
        # per-visitor and per-address limits stay out of the way (198.18.0.0/15: benchmarking).
        body = {"visitor_id": f"{tag}{i:020d}", "url": f"https://www.example.co.jp/p/{i % 50}", "title": "ページ",
                "referrer": "https://www.google.com/", "utm_source": "bench"}  # fmt: skip
        headers = {"Content-Type": "text/plain;charset=UTF-8", "X-Forwarded-For": f"198.18.{i // 250 % 256}.{i % 250}"}
        return "POST", "/t/pv", json.dumps(body).encode(), headers

    return {
        "me": lambda i: ("GET", "/api/v1/me/", None, auth),
        "upsert": upsert,
        "list": lambda i: ("GET", "/api/v1/leads/", None, auth),
        "static": lambda i: ("GET", STATIC_SCRIPT, None, {}),
        "pv": page_view,
    }


def results(loads: dict[str, list[httpload.Load]], rounds: int) -> list[Result]:
    note = f"gunicorn sync x2, {CONCURRENCY} conns, python, median of {rounds}x{loads['upsert'][0].requests} req"
    me, script = "GET /api/v1/me/", "static track.js (whitenoise)"
    return [
        Result.measured("api.upsert_rps", med(loads["upsert"], "rps"), "req/s", me, med(loads["me"], "rps"), note),
        Result.measured(
            "api.upsert_p99", med(loads["upsert"], "p99_ms"), "ms", f"{me} p99", med(loads["me"], "p99_ms"), note
        ),
        Result.measured("api.list_rps", med(loads["list"], "rps"), "req/s", me, med(loads["me"], "rps"), "50 per page"),
        Result.measured("tracking.pv_rps", med(loads["pv"], "rps"), "req/s", script, med(loads["static"], "rps"), note),
        Result.measured(
            "tracking.pv_p99", med(loads["pv"], "p99_ms"), "ms", f"{script} p99", med(loads["static"], "p99_ms"), note
        ),
    ]


def load(port: int, make: Callable[[int], Request], *, requests: int, seconds: float, offset: int) -> httpload.Load:
    """Like httpload.threaded, but each request built by `make` (POST bodies, varying headers).

    The baselines go through this same client, so values and baselines compare.
    """
    tickets = itertools.count(offset)
    latencies: list[list[float]] = [[] for _ in range(CONCURRENCY)]
    errors = [0] * CONCURRENCY
    start = threading.Barrier(CONCURRENCY + 1)

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        deadline = time.perf_counter() + seconds
        while (ticket := next(tickets)) - offset < requests and time.perf_counter() < deadline:
            method, path, body, headers = make(ticket)
            t0 = time.perf_counter()
            if send(conn, method, path, body, {**HEADERS, **headers}):
                latencies[slot].append((time.perf_counter() - t0) * 1000)
            else:
                errors[slot] += 1
        conn.close()

    elapsed = run_clients(client, start)
    samples = [ms for per_thread in latencies for ms in per_thread]
    if sum(errors) or not samples:
        raise RuntimeError(f"{sum(errors)} of {sum(errors) + len(samples)} requests to {make(0)[1]} failed")
    return httpload.Load(len(samples), 0, elapsed, percentile(samples, 50), percentile(samples, 99), "python")


def send(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict) -> bool:
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return 200 <= response.status < 300
    except (OSError, http.client.HTTPException):
        conn.close()  # http.client reconnects on the next request
        return False


def run_clients(client: Callable[[int], None], start: threading.Barrier) -> float:
    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - t0


TOKEN_SCRIPT = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user({username!r})
user.groups.add(Group.objects.get(name="marketer"))
print(Token.objects.create(user=user).key)
"""

CLEANUP_SCRIPT = """
from django.contrib.auth.models import User
from leads.models import Activity, Company, Lead, Tag
Lead.objects.filter(email_key__endswith="@{domain}").delete()
Activity.objects.filter(visitor_id__startswith={tag!r}).delete()
Company.objects.filter(domain={domain!r}).delete()
Tag.objects.filter(name={tag!r}).delete()
User.objects.filter(username={username!r}).delete()
"""


def create_token(ctx: Context, env: dict[str, str], workdir: Path, *, username: str) -> str:
    """A marketer's API token: the role a CRM integration would use, permission checks included."""
    log = workdir / "token.log"
    argv = [sys.executable, "manage.py", "shell", "-c", TOKEN_SCRIPT.format(username=username)]
    services.run_logged(argv, env=env, cwd=ctx.root, log=log, what="create the API user")
    return log.read_text().split()[-1]


def cleanup(ctx: Context, env: dict[str, str], workdir: Path, r: redis.Redis, prefix: str) -> None:
    """Leave the shared run database and Redis as they were: other benchmarks use them after us."""
    code = CLEANUP_SCRIPT.format(domain=DOMAIN, tag=prefix.replace("-", ""), username=prefix)
    try:
        argv = [sys.executable, "manage.py", "shell", "-c", code]
        services.run_logged(argv, env=env, cwd=ctx.root, log=workdir / "cleanup.log", what="cleanup")
    except Exception as exc:  # the database is dropped at the end of the run anyway
        print(f"bench: api could not delete its rows ({services.first_line(exc)})", file=sys.stderr)
    try:
        keys = list(r.scan_iter(match=f"{prefix}:*", count=1000)) + [prefix, f"_kombu.binding.{prefix}"]
        for start in range(0, len(keys), 500):
            r.delete(*keys[start : start + 500])
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)
