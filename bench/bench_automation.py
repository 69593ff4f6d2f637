"""Automation: form submit → first step email handed to the mail server, and dispatching 100,000 due steps.

Rows:
- `automation.first_email_p50/_p99`: ms from committing a form submit (stream.record) to its
  sequence's day-0 email marked sent, through the real Redis broker and a prefork worker
  (stream consumer → enrollment → dispatch task → delivery task → SMTP); baseline: a Celery
  ping round trip, interleaved. Goal: p99 under 5 s.
- `automation.dispatch_rate`: due steps/s for N enrollments due at once, dispatched (claimed,
  exits checked, sends created, enrollments advanced) and delivered over SMTP in one process;
  baseline: the broadcast sender (campaigns/sending.py) sending to the same number of leads, in
  the same process, to the same SMTP sink.
The SMTP server is a counting aiosmtpd sink started here.
"""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench import services
from bench.bench_scoring import cleanup
from bench.context import POSTGRES_ADMIN_URL, Context
from bench.core import Result, percentile

FORM_ID = 4242
LATENCY_GOAL_MS = 5000


def run(ctx: Context) -> list[Result]:
    from aiosmtpd.controller import Controller

    r = services.require_redis(ctx.redis_url)
    samples, steps, sent = ctx.pick(200, 30), ctx.pick(100_000, 5_000), ctx.pick(1_000, 200)
    work = ctx.workdir("automation")
    queue = f"bench-auto-{uuid.uuid4().hex[:10]}"
    sink = Controller(Counting(), hostname="127.0.0.1", port=services.free_port())
    sink.start()
    env = ctx.production_env(CELERY_QUEUE=queue, CACHE_KEY_PREFIX=queue, EMAIL_PORT=str(sink.port),
                             EMAIL_USE_TLS="0", SEND_RATE_PER_HOUR="0")  # fmt: skip
    try:
        with services.bench_database(
            POSTGRES_ADMIN_URL, migrate_env=env, cwd=ctx.root, log=work / "migrate.log"
        ) as url:
            env = {**env, "DATABASE_URL": url}
            latency = measure_latency(ctx, env, queue, samples, work)
            args = ["dispatch", str(steps), str(sent)]
            rates = helper(ctx, env, args, work / "dispatch.log", timeout=300 + steps / 100 + sent)
    finally:
        sink.stop()
        cleanup(r, [queue])
    return [*latency_rows(latency, samples), *dispatch_rows(rates, steps, sent)]


class Counting:
    """The SMTP sink: accepts everything, keeps nothing."""

    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += len(envelope.rcpt_tos)
        return "250 OK"


def measure_latency(ctx: Context, env: dict[str, str], queue: str, samples: int, work: Path) -> dict:
    def run() -> dict:
        return helper(ctx, env, ["latency", str(samples)], work / "latency.log", timeout=120 + samples * 10)

    return services.with_worker(queue, env=env, cwd=ctx.root, log=work / "worker.log", run=run)


def helper(ctx: Context, env: dict[str, str], args: list[str], log: Path, *, timeout: float) -> dict:
    """Run this module's `main` in a Django process; its JSON answer is the last line it prints."""
    with open(log, "wb") as err:
        done = subprocess.run([sys.executable, "-m", "bench.bench_automation", *args], env=env, cwd=ctx.root,
                              stdout=subprocess.PIPE, stderr=err, timeout=timeout, check=False)  # fmt: skip
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench_automation {args[0]} exited with {done.returncode}: {services.tail(log)}")
    return json.loads(lines[-1])


def latency_rows(latency: dict, samples: int) -> list[Result]:
    note = f"{samples} form submits → day-0 email sent (SMTP); goal p99 < {LATENCY_GOAL_MS} ms"
    return [
        Result.measured(
            f"automation.first_email_p{p}",
            percentile(latency["email_ms"], p),
            "ms",
            f"celery ping p{p}",
            percentile(latency["ping_ms"], p),
            note,
        )  # fmt: skip
        for p in (50, 99)
    ]


def dispatch_rows(rates: dict, steps: int, sent: int) -> list[Result]:
    return [
        Result.measured("automation.dispatch_rate", rates["dispatch_rate"], "steps/s", "broadcast start, sends/s",
                        rates["queue_rate"], f"{steps:,} due steps: claimed, exits checked, sends created, advanced"),
        Result.measured("automation.send_rate", rates["automation_rate"], "steps/s", "broadcast sender msgs/s",
                        rates["broadcast_rate"], f"{sent:,} steps dispatched and sent over SMTP, one process"),
    ]  # fmt: skip


# --- inside the Django processes (python -m bench.bench_automation ...) ----------------------------------------


def setup(steps: int = 1) -> object:
    from campaigns.automation_models import Entry, Sequence, Step
    from campaigns.models import EmailTemplate, SenderIdentity

    sender = {"name": "株式会社ベンチ", "postal_address": "東京都千代田区1-1", "contact_email": "info@example.com"}
    SenderIdentity.objects.get_or_create(pk=1, defaults=sender)
    template = EmailTemplate.objects.create(name="お礼", subject="{{ lead.last_name }}様 資料のご案内",
                                            html="<p>{{ lead.last_name }}様</p><p><a href='https://example.com/a'>資料</a></p>",
                                            text="{{ lead.last_name }}様\nhttps://example.com/a\n")  # fmt: skip
    sequence = Sequence.objects.create(name=f"bench {uuid.uuid4().hex[:6]}", status="active", entry=Entry.FORM_SUBMIT,
                                       entry_form_id=FORM_ID)  # fmt: skip
    for order in range(steps):
        Step.objects.create(sequence=sequence, order=order, template=template, delay=3 * order, unit="days")
    return sequence


def leads(count: int, prefix: str) -> list[int]:
    from leads.models import Lead
    from mautomation.lib.normalize import email_key

    emails = [f"{prefix}{n}@example.co.jp" for n in range(count)]
    Lead.objects.bulk_create((Lead(email=e, email_key=email_key(e), last_name="山田", consent=True) for e in emails),
                             batch_size=5000)  # fmt: skip
    return list(Lead.objects.filter(email__startswith=prefix).values_list("pk", flat=True))


def latency_main(count: int) -> dict:
    from django.db import transaction

    from campaigns.models import Send
    from leads import stream
    from leads.models import Lead
    from mautomation.tasks import ping

    def round_trip(nonce: str) -> float:
        t0 = time.perf_counter()
        ping.delay(nonce).get(timeout=30)
        return (time.perf_counter() - t0) * 1000

    def submit(lead_id: int, timeout: float = 30) -> float:
        t0 = time.perf_counter()
        with transaction.atomic():
            stream.record(kind="form_submit", lead=Lead(pk=lead_id), form_id=FORM_ID, data={"bench": True})
        while not Send.objects.filter(lead_id=lead_id, status=Send.Status.SENT).exists():
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"lead {lead_id}: no email sent within {timeout:.0f} s")
            time.sleep(0.002)
        return (time.perf_counter() - t0) * 1000

    round_trip("ready")
    setup(steps=2)
    ids = leads(count + 5, "lat")
    for lead_id in ids[:5]:  # warm-up: imports, connections, the result subscription
        round_trip("warm")
        submit(lead_id)
    ping_ms, email_ms = [], []
    for lead_id in ids[5:]:
        ping_ms.append(round_trip(uuid.uuid4().hex[:8]))
        email_ms.append(submit(lead_id))
    return {"ping_ms": ping_ms, "email_ms": email_ms}


def dispatch_main(count: int, sample: int) -> dict:
    """Dispatch alone for `count` due steps against a broadcast queuing as many sends; then `sample` steps
    dispatched and delivered over SMTP against the broadcast sender sending to `sample` leads."""
    from django.utils import timezone

    from campaigns.automation_sending import deliver_sources
    from campaigns.sequences import enroll
    from campaigns.step_dispatch import dispatch_due

    def dispatch(n: int, prefix: str, deliver: bool) -> float:
        sequence = setup(steps=2)
        enroll(sequence=sequence, lead_ids=leads(n, prefix), source="bench", now=timezone.now())
        t0 = time.perf_counter()
        result = dispatch_due(now=timezone.now())
        for template_id, sources in result.sources.items() if deliver else ():
            for start in range(0, len(sources), 500):
                deliver_sources(template_id=template_id, sources=sources[start : start + 500])
        if result.steps != n:
            raise RuntimeError(f"{result.steps} steps dispatched, expected {n}")
        return n / (time.perf_counter() - t0)

    return {
        "dispatch_rate": dispatch(count, "seq", False), "queue_rate": broadcast(count, "bq", send=False),
        "automation_rate": dispatch(sample, "sms", True), "broadcast_rate": broadcast(sample, "bs", send=True),
    }  # fmt: skip


def broadcast(count: int, prefix: str, *, send: bool) -> float:
    """Per second: the broadcast sender starting (recipients resolved, sends queued), and with `send`, its
    batches run here one after another."""
    from campaigns import sending
    from campaigns.models import Campaign, EmailTemplate, Send
    from leads.lists import add_to_list
    from leads.models import Lead, LeadList

    lead_list = LeadList.objects.create(name=f"bench {prefix}")
    add_to_list(lead_list=lead_list, leads=Lead.objects.filter(pk__in=leads(count, prefix)), source="import")
    campaign = Campaign.objects.create(name=f"bench {prefix}", template=EmailTemplate.objects.first())
    campaign.lists.add(lead_list)
    sending.enqueue_batch = lambda campaign_id, after_id: None  # batches run here, one after another
    t0 = time.perf_counter()
    sending.start(campaign=campaign)
    after = 0
    while send and (ids := list(Send.objects.filter(source=campaign.source, pk__gt=after).order_by("pk").values_list(
            "pk", flat=True)[:500])):  # fmt: skip
        sending.run_batch(campaign_id=campaign.pk, after_id=after)
        after = ids[-1]
    return count / (time.perf_counter() - t0)


def main(argv: list[str]) -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
    django.setup()
    command = argv[0] if argv else ""
    if command == "latency":
        answer = latency_main(int(argv[1]))
    elif command == "dispatch":
        answer = dispatch_main(int(argv[1]), int(argv[2]))
    else:
        raise SystemExit("usage: python -m bench.bench_automation latency COUNT | dispatch COUNT SAMPLE")
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
