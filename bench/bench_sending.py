"""Broadcast sending: a personalised, tracked campaign through Redis and a prefork worker into a local SMTP sink.

Rows (10,000 and 100,000 recipients; 1,000 and 5,000 with --quick):
- `sending.broadcast_<n>`: messages/s from `send_campaign` (recipients resolved, Send rows
  inserted) until the sink holds every message; baseline: plain smtplib sending the same
  number of prebuilt copies of one of those messages over one connection to the same sink.
- `sending.worker_rss_<n>`: the worker's peak RSS in MB (largest VmHWM among its processes,
  a fresh worker per size); baseline: the same figure for the smallest size, so a ratio near
  1 says memory is flat whatever the list size.
The sink (aiosmtpd) runs in a thread of this process; its own speed is the ceiling of both.
"""

import json
import os
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

from bench import services
from bench.context import Context
from bench.core import Result


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.sample = b""
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.count += len(envelope.rcpt_tos)
            if not self.sample:
                self.sample = envelope.original_content or b""
        return "250 OK"


def run(ctx: Context) -> list[Result]:
    r = services.require_redis(ctx.redis_url)
    sizes = [ctx.pick(10_000, 1_000), ctx.pick(100_000, 5_000)]
    sink, port = Sink(), services.free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=2**24)
    controller.start()
    queue = f"bench-send-{uuid.uuid4().hex[:8]}"
    env = ctx.production_env(CELERY_QUEUE=queue, CACHE_KEY_PREFIX=queue, EMAIL_PORT=str(port), EMAIL_USE_TLS="0")
    try:
        campaigns = seed(ctx, env, sizes)
        rows, rss = [], {}
        for size, campaign_id in zip(sizes, campaigns, strict=True):
            rate, rss[size] = broadcast(ctx, env, r, queue, sink, size, campaign_id)
            baseline = smtplib_rate(port, sink, sink.sample, min(size, ctx.pick(10_000, 1_000)))
            note = f"{size:,} recipients, prefork x2, 15 tracked links, ~20 KB HTML"
            rows.append(Result.measured(f"sending.broadcast_{size}", rate, "msg/s", "smtplib prebuilt", baseline, note))
        for size in sizes:
            rows.append(
                Result.measured(f"sending.worker_rss_{size}", rss[size], "MB", f"rss at {sizes[0]:,}", rss[sizes[0]])
            )
        return rows
    finally:
        controller.stop()
        cleanup(r, queue)


def seed(ctx: Context, env: dict[str, str], sizes: list[int]) -> list[int]:
    argv = [sys.executable, "-m", "bench.sending_seed", str(sizes[0]), str(sizes[1])]
    done = subprocess.run(argv, env=env, cwd=ctx.root, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed: {done.stderr.strip().splitlines()[-1:]}")
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    return [ids["small"], ids["large"]]


def broadcast(ctx: Context, env, r: redis.Redis, queue: str, sink: Sink, size: int, campaign_id: int):
    """Messages/s of one campaign with a fresh worker, and that worker's peak RSS in MB."""
    argv = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "--pool", "prefork", "--concurrency", "2",
            "-Q", queue, "-n", f"{queue}-{size}@%h", "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip"]  # fmt: skip
    log = ctx.workdir("sending") / f"worker-{size}.log"
    with services.process(argv, env=env, cwd=ctx.root, log=log) as worker:
        time.sleep(3)  # the worker's imports; a task sent earlier would only wait in Redis
        start_count, t0 = sink.count, time.perf_counter()
        services.run_logged([sys.executable, "manage.py", "send_campaign", str(campaign_id)], env=env, cwd=ctx.root,
                            log=ctx.workdir("sending") / f"start-{size}.log", what="send_campaign")  # fmt: skip
        deadline = time.monotonic() + max(600, size / 20)
        while sink.count - start_count < size:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{sink.count - start_count} of {size} sent; worker: {services.tail(log)}")
            time.sleep(0.05)
        rate = size / (time.perf_counter() - t0)
        drain(r, queue)  # the email_sent activities' consumers, so the next size starts on an idle worker
        return rate, peak_rss_mb(worker.pid)


def drain(r: redis.Redis, queue: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while r.llen(queue) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)


def peak_rss_mb(group: int) -> float:
    """The largest VmHWM (peak resident set) among the processes of the worker's group."""
    peaks = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != group:
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, ProcessLookupError):
            continue
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks, default=0.0)


def smtplib_rate(port: int, sink: Sink, message: bytes, count: int) -> float:
    """The ceiling: prebuilt bytes of the same message over one smtplib connection."""
    if not message:
        raise RuntimeError("the sink kept no sample message")
    conn = smtplib.SMTP("127.0.0.1", port)
    try:
        t0 = time.perf_counter()
        for _ in range(count):
            conn.sendmail("ma@example.com", ["baseline@bench.example"], message)
        return count / (time.perf_counter() - t0)
    finally:
        conn.quit()


def cleanup(r: redis.Redis, queue: str) -> None:
    try:
        keys = [queue] + [key for key in r.scan_iter(f"{queue}*", count=1000)]
        keys += [f"_kombu.{kind}.{queue}" for kind in ("binding", "binding_permanent")]
        for start in range(0, len(keys), 500):
            r.delete(*keys[start : start + 500])
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)
