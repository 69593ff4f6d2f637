"""Celery round trips through the real Redis broker and a prefork worker, against raw Redis."""

import sys
import time
import uuid
from pathlib import Path
from subprocess import Popen

import redis
from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from celery.utils.nodenames import gethostname

from bench import services
from bench.context import Context
from bench.core import Result, percentile

HEARTBEAT = "mautomation.tasks.heartbeat"
PING = "mautomation.tasks.ping"


def run(ctx: Context) -> list[Result]:
    r = services.require_redis(ctx.redis_url)
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    # Its own queue and cache prefix, so a developer's worker on the same Redis
    # takes none of our tasks and our heartbeats overwrite none of theirs.
    env = ctx.production_env(CELERY_QUEUE=queue, CACHE_KEY_PREFIX=queue)
    argv = [sys.executable, "-m", "celery", "-A", "mautomation", "worker", "--pool", "prefork", "--concurrency", "2",
            "-Q", queue, "-n", f"{queue}@%h", "--loglevel", "WARNING",
            # A lone worker has nobody to sync with at start-up (mingle) or to chat with (gossip).
            "--without-mingle", "--without-gossip"]  # fmt: skip
    log = ctx.workdir("tasks") / "worker.log"
    app = client_app(ctx.redis_url, queue)
    ping_ids: list[str] = []
    try:
        with services.process(argv, env=env, cwd=ctx.root, log=log) as worker:
            ping_ids.append(await_result(app.send_task(PING, args=["ready"], queue=queue), worker, log, timeout=60).id)
            for i in range(20):  # warm-up: worker imports, connections, the pubsub subscription
                ping_ids.append(
                    await_result(app.send_task(PING, args=[f"warm{i}"], queue=queue), worker, log, timeout=10).id
                )
            return [
                *throughput(ctx, app, r, queue, worker, log, ping_ids),
                *latency(ctx, app, r, queue, worker, log, ping_ids),
            ]
    finally:
        cleanup(r, queue, ping_ids)
        app.close()


def client_app(redis_url: str, queue: str) -> Celery:
    # A bare client instead of importing mautomation's app: that would load Django
    # settings into the harness process, whose environment is not the project's.
    # Messages are the same: tasks are sent by name in Celery's default protocol.
    app = Celery("bench-client", broker=redis_url, backend=redis_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
    )
    return app


def await_result(result: AsyncResult, worker: Popen, log: Path, timeout: float) -> AsyncResult:
    """Wait for a result, failing fast with the worker's last log line if it died."""
    deadline = time.monotonic() + timeout
    while True:
        if worker.poll() is not None:
            raise RuntimeError(f"the celery worker exited with {worker.returncode}: {services.tail(log)}")
        try:
            result.get(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            return result
        except CeleryTimeout:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"no result from the celery worker within {timeout:.0f}s; last log line: {services.tail(log)}"
                ) from None


def sample_message(app: Celery, r: redis.Redis, task: str, args: list[str], queue: str) -> bytes:
    """The exact bytes Celery puts on the Redis list for one task, so the baseline pushes the same payload."""
    probe = f"{queue}.probe"
    app.send_task(task, args=args, queue=probe, ignore_result=True)
    try:
        payload = r.lindex(probe, 0)
        if payload is None:
            raise RuntimeError(f"no message found on the Redis list {probe!r}: has the transport's key layout changed?")
        return payload
    finally:
        r.delete(probe)


def throughput(
    ctx: Context, app: Celery, r: redis.Redis, queue: str, worker: Popen, log: Path, ping_ids: list[str]
) -> list[Result]:
    count = ctx.pick(2000, 200)
    node = [f"{queue}@{gethostname()}"]
    # The queue is filled while the worker does not consume it: on a small machine a
    # producer running alongside would take the worker's CPU and we would time both.
    replies = app.control.cancel_consumer(queue, destination=node, reply=True, timeout=5)
    if not replies:
        raise RuntimeError(f"the worker did not answer cancel_consumer; last log line: {services.tail(log)}")
    t0 = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task(HEARTBEAT, queue=queue, producer=producer, ignore_result=True)
    enqueue_rate = count / (time.perf_counter() - t0)
    # The list is FIFO, so when this ping comes back every heartbeat has been
    # delivered and at most one (of 2 processes) is still running.
    sentinel = app.send_task(PING, args=["drained"], queue=queue)
    ping_ids.append(sentinel.id)
    t0 = time.perf_counter()
    app.control.add_consumer(queue, destination=node, reply=True, timeout=5)
    await_result(sentinel, worker, log, timeout=max(60, count / 20))
    drain_rate = count / (time.perf_counter() - t0)
    if not r.exists(f"{queue}:1:worker-heartbeat"):
        raise RuntimeError("the heartbeat tasks ran but wrote no heartbeat to the cache; see the worker log")

    # Baselines: the same number of the same message pushed straight into Redis,
    # one call per message (what a producer does) and pipelined (Redis's own ceiling).
    payload, scratch = sample_message(app, r, HEARTBEAT, [], queue), f"{queue}.baseline"
    t0 = time.perf_counter()
    for _ in range(count):
        r.lpush(scratch, payload)
    lpush_rate = count / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    pipe = r.pipeline(transaction=False)
    for _ in range(count):
        pipe.lpush(scratch, payload)
    pipe.execute()
    pipelined_rate = count / (time.perf_counter() - t0)
    r.delete(scratch)
    return [
        Result.measured(
            "tasks.enqueue", enqueue_rate, "tasks/s", "redis LPUSH", lpush_rate, f"{count} heartbeat.delay()"
        ),
        Result.measured(
            "tasks.drain", drain_rate, "tasks/s", "redis LPUSH pipelined", pipelined_rate, f"{count} queued, prefork x2"
        ),
    ]


def latency(
    ctx: Context, app: Celery, r: redis.Redis, queue: str, worker: Popen, log: Path, ping_ids: list[str]
) -> list[Result]:
    count = ctx.pick(1000, 100)
    samples = []
    for i in range(count):
        nonce = f"{i}-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        result = app.send_task(PING, args=[nonce], queue=queue)
        echoed = result.get(timeout=10)
        samples.append((time.perf_counter() - t0) * 1000)
        ping_ids.append(result.id)
        if echoed != nonce:
            raise RuntimeError(f"ping returned {echoed!r} for {nonce!r}")

    # Baseline: the same message pushed and popped back, the least any Redis queue costs.
    payload, scratch = sample_message(app, r, PING, ["0-00000000"], queue), f"{queue}.baseline"
    base = []
    for _ in range(count):
        t0 = time.perf_counter()
        r.lpush(scratch, payload)
        r.brpop([scratch], timeout=1)
        base.append((time.perf_counter() - t0) * 1000)
    r.delete(scratch)
    note = f"{count} sequential ping.delay().get()"
    return [
        Result.measured(
            f"tasks.latency_p{p}", percentile(samples, p), "ms", f"redis LPUSH+BRPOP p{p}", percentile(base, p), note
        )
        for p in (50, 99)
    ]


def cleanup(r: redis.Redis, queue: str, ping_ids: list[str]) -> None:
    """Remove what this run left in Redis: results, the heartbeat, the queue and its bindings."""
    try:
        keys = [f"celery-task-meta-{task_id}" for task_id in ping_ids]
        keys += [queue, f"{queue}:1:worker-heartbeat"]
        keys += [f"_kombu.{kind}.{q}" for kind in ("binding", "binding_permanent") for q in (queue, f"{queue}.probe")]
        for start in range(0, len(keys), 500):
            r.delete(*keys[start : start + 500])
        pidbox = "_kombu.binding.celery.pidbox"
        for member in r.smembers(pidbox):
            if queue.encode() in member:  # the worker's remote-control binding, named after its node
                r.srem(pidbox, member)
        for exchange in ("celery.pidbox", "reply.celery.pidbox"):
            if not r.exists(f"_kombu.binding.{exchange}"):  # nobody else bound: kombu's sweep entry is stale
                r.zrem("_kombu.binding_deadlines", exchange)
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)
