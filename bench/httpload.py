"""A bounded HTTP load generator for 127.0.0.1: wrk when installed, else threads with http.client."""

import http.client
import itertools
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.core import percentile


@dataclass
class Load:
    requests: int  # completed with the expected status
    errors: int  # other statuses, resets, timeouts
    seconds: float
    p50_ms: float
    p99_ms: float
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def generate(url: str, *, requests: int, seconds: float, concurrency: int, headers: dict[str, str]) -> Load:
    """Load url with `concurrency` connections until `requests` are done or `seconds` have passed."""
    # Never point load at anything but this machine, whatever a benchmark passes in.
    if urlsplit(url).hostname != "127.0.0.1":
        raise ValueError(f"refusing to load {url}: only 127.0.0.1 is a valid target")
    if shutil.which("wrk"):
        return wrk(url, seconds=seconds, concurrency=concurrency, headers=headers)
    return threaded(url, requests=requests, seconds=seconds, concurrency=concurrency, headers=headers)


def threaded(url: str, *, requests: int, seconds: float, concurrency: int, headers: dict[str, str]) -> Load:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    tickets = itertools.count()  # next() on it is atomic under the GIL: a lock-free request budget
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start = threading.Barrier(concurrency + 1)

    def client(slot: int) -> None:
        # One keep-alive connection per thread; http.client reopens it by itself
        # after a "Connection: close" response, as gunicorn's sync workers send.
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        start.wait()
        deadline = time.perf_counter() + seconds
        while next(tickets) < requests and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            if ok:
                latencies[slot].append((time.perf_counter() - t0) * 1000)
            else:
                errors[slot] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(slot,), daemon=True) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    samples = [ms for per_thread in latencies for ms in per_thread]
    if not samples:
        return Load(0, sum(errors), elapsed, float("nan"), float("nan"), "python")
    return Load(len(samples), sum(errors), elapsed, percentile(samples, 50), percentile(samples, 99), "python")


def wrk(url: str, *, seconds: float, concurrency: int, headers: dict[str, str]) -> Load:
    argv = ["wrk", f"-t{min(concurrency, 2)}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    return parse_wrk(out)


WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(out: str) -> Load:
    """Requests, errors, duration and p50/p99 from `wrk --latency` output."""

    def ms(pct: int) -> float:
        found = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if not found:
            raise ValueError(f"no {pct}% latency in wrk output: {out!r}")
        return float(found[1]) * WRK_UNITS_MS[found[2]]

    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", out)
    if not done:
        raise ValueError(f"no request count in wrk output: {out!r}")
    total, seconds = int(done[1]), float(done[2]) * WRK_UNITS_MS[done[3]] / 1000
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    # wrk counts a non-2xx response as a request too; socket errors are not requests.
    bad = int(non_2xx[1]) if non_2xx else 0
    errors = bad + (sum(int(n) for n in sockets.groups()) if sockets else 0)
    return Load(total - bad, errors, seconds, ms(50), ms(99), "wrk")
