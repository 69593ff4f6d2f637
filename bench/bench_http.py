"""gunicorn serving /healthz (a DB query and a broker check) against a static file through whitenoise."""

import http.client
import statistics
import sys
import time
from pathlib import Path
from subprocess import Popen

from bench import httpload, services
from bench.context import Context
from bench.core import Result

STATIC_PATH = "/static/admin/css/base.css"
# What the TLS proxy in front of gunicorn would send (BEHIND_TLS_PROXY=1).
HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
CONCURRENCY = 4  # two per gunicorn worker: each always has a request waiting


def run(ctx: Context) -> list[Result]:
    services.require_redis(ctx.redis_url)  # /healthz checks the broker; without it every answer is a 503
    workdir = ctx.workdir("http")
    env = ctx.production_env(STATIC_ROOT=str(workdir / "static"))
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    services.run_logged(collect, env=env, cwd=ctx.root, log=workdir / "collectstatic.log", what="collectstatic")
    port = services.free_port()
    argv = services.gunicorn_argv("mautomation.wsgi:application", port)
    base, log = f"http://127.0.0.1:{port}", workdir / "gunicorn.log"
    rounds, requests, seconds = ctx.pick(3, 1), ctx.pick(1000, 200), ctx.pick(10, 3)
    static: list[httpload.Load] = []
    health: list[httpload.Load] = []
    with services.process(argv, env=env, cwd=ctx.root, log=log) as server:
        wait_ready(port, server, log)
        for path in (STATIC_PATH, "/healthz"):  # warm-up: each worker's first requests pay for lazy imports
            load(base + path, requests=50, seconds=10)
        for _ in range(rounds):  # interleaved, so a burst of noise on the machine hits both alike
            static.append(load(base + STATIC_PATH, requests=requests, seconds=seconds))
            health.append(load(base + "/healthz", requests=requests, seconds=seconds))
    note = f"gunicorn sync x2, {CONCURRENCY} conns, {health[0].tool}, median of {rounds}x{health[0].requests} req"
    static_name = "static file (whitenoise)"
    return [
        Result.measured("http.healthz_rps", med(health, "rps"), "req/s", static_name, med(static, "rps"), note),
        Result.measured(
            "http.healthz_p99", med(health, "p99_ms"), "ms", f"{static_name} p99", med(static, "p99_ms"), note
        ),
    ]


def load(url: str, *, requests: int, seconds: float) -> httpload.Load:
    result = httpload.generate(url, requests=requests, seconds=seconds, concurrency=CONCURRENCY, headers=HEADERS)
    if result.errors or not result.requests:
        raise RuntimeError(f"{result.errors} of {result.errors + result.requests} requests to {url} failed")
    return result


def med(loads: list[httpload.Load], attr: str) -> float:
    return statistics.median(getattr(x, attr) for x in loads)


def wait_ready(port: int, server: Popen, log: Path, timeout: float = 30) -> None:
    """Until both URLs answer 200; fail fast with gunicorn's last log line if it died."""
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}: {services.tail(log)}")
        try:
            statuses = [get(port, path) for path in ("/healthz", STATIC_PATH)]
            if all(status == 200 for status, _ in statuses):
                return
            last = "; ".join(f"{status} {body[:200]}" for status, body in statuses)
        except OSError as exc:  # not listening yet
            last = services.first_line(exc)
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready within {timeout:.0f}s: {last}")


def get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()
