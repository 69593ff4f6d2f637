"""Load run: form posts, page GETs, tracking hits and API calls at once while a broadcast sends; backlog drained.

The production topology on this machine: gunicorn (production settings, 2 sync
workers), a Celery worker (prefork x2) and beat, PostgreSQL (a database of its own,
dropped afterwards) and Redis, an aiosmtpd sink for the broadcast. One wrk process
per kind of request (bench/load_mix.lua), all for the same window (60 s, 12 s with
--quick), on 127.0.0.1 only:
- form: hosted form POSTs, each a new address, with the CSRF cookie and token, the
  signed form token (older than the form's 2 s minimum fill time), the honeypot empty;
- page: GETs of a published landing page with blocks and that form;
- open / click: the open pixel and click redirect of a campaign sent ten minutes ago,
  each path a different send's, signed with the server's key;
- api_upsert / api_list: POST /api/v1/leads/ (a new lead each) and the lead list, token auth.
A broadcast to 10,000 leads (1,000 quick), started just before the window, sends throughout it.

Rows: per kind and in total, requests/s (baseline: the bare-GIF view of bench_tracking
loaded alone by the same harness just before, ratio = mixed / bare) and p50/p99; then,
from the end of the window, the seconds until every submission is a lead with its
form_submit activity scored, every hit has been dispatched to the stream's consumers
(scoring), and every send has settled. It fails (so CI fails) on any error response or
socket error, any unanswered request, and unless exactly: submissions posted ==
stored == ingested == form_submit activities == new leads == form score entries; hits
answered == hit activities (all processed), clicks == click score entries; API upserts
== new leads; broadcast recipients == sends sent == messages in the sink, none twice.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import redis
from aiosmtpd.controller import Controller

from bench import load_wrk, services
from bench.bench_forms import HEADERS, HOST, csrf_pair, wait_ready
from bench.bench_tracking import BARE_MODULE
from bench.context import Context
from bench.core import Result, Skip
from bench.load_seed import API_DOMAIN, FORM_DOMAIN, MAIL_DOMAIN

CONNECTIONS = {"form": 4, "page": 4, "open": 2, "click": 2, "api_upsert": 2, "api_list": 2}
HITS_PER_SECOND = 400  # signed paths per second of window, for opens and for clicks: more than they reach here
BROWSER = {**HEADERS, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0"}
SETTLED = ("sent", "failed", "skipped")


class Sink:
    """The local SMTP server: how many messages each recipient got."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()  # written in aiosmtpd's thread, read in ours

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        return "250 OK"

    def to(self, domain: str) -> Counter[str]:
        with self.lock:
            return Counter({rcpt: n for rcpt, n in self.received.items() if rcpt.endswith("@" + domain)})


def run(ctx: Context) -> list[Result]:
    if not shutil.which("wrk"):
        raise Skip("wrk is not installed (apt-get install wrk)")
    r = services.require_redis(ctx.redis_url)
    prefix, workdir = f"bench-load-{uuid.uuid4().hex[:10]}", ctx.workdir("load")
    (workdir / "bench_tracking_bare.py").write_text(BARE_MODULE)
    sink, smtp_port = Sink(), services.free_port()
    controller = Controller(sink, hostname=HOST, port=smtp_port, data_size_limit=2**24)
    controller.start()
    try:
        with ctx.own_database("load") as database_url:
            env = ctx.production_env(
                database_url=database_url, CACHE_KEY_PREFIX=prefix, CELERY_QUEUE=prefix, PYTHONPATH=str(workdir),
                STATIC_ROOT=str(workdir / "static"), EMAIL_PORT=str(smtp_port), EMAIL_USE_TLS="0",
                # The limits stay on (their cache round trips are part of the cost) but must not refuse the load.
                FORM_RATE_LIMIT_PER_MINUTE="10000000", FORM_RATE_LIMIT_PER_FORM_PER_MINUTE="10000000",
                API_USER_RATE="10000000/minute",
            )  # fmt: skip
            return measure(ctx, env, workdir, sink, database_url)
    finally:
        controller.stop()
        cleanup(r, prefix)


def measure(ctx: Context, env: dict[str, str], workdir: Path, sink: Sink, database_url: str) -> list[Result]:
    seconds, recipients = ctx.pick(60, 12), ctx.pick(10_000, 1_000)
    services.run_logged([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=ctx.root,
                        log=workdir / "collectstatic.log", what="collectstatic")  # fmt: skip
    seed = seed_data(ctx, env, workdir, hits=HITS_PER_SECOND * seconds, recipients=recipients)
    port = services.free_port()
    with ExitStack() as servers:
        start_servers(ctx, env, workdir, servers, port)
        bare_gif = load_wrk.Kind("bare", "GET", "/bare.gif", sum(CONNECTIONS.values()), headers=BROWSER)
        bare = load_wrk.run(port, [bare_gif], seconds=ctx.pick(10, 5), workdir=workdir)[0]
        kinds = request_kinds(port, seed, workdir)
        load_before = os.getloadavg()[0]
        services.run_logged([sys.executable, "manage.py", "send_campaign", str(seed["broadcast"])], env=env,
                            cwd=ctx.root, log=workdir / "send_campaign.log", what="send_campaign")  # fmt: skip
        running = load_wrk.start(port, kinds, seconds=seconds, workdir=workdir)
        outcomes, drained = drain(database_url, seed, sink, running, timeout=ctx.pick(600, 180))
        load_after = os.getloadavg()[0]
    check(database_url, seed, sink, outcomes, recipients=recipients)
    note = f"load avg {load_before:.1f} -> {load_after:.1f}, {seconds} s, broadcast of {recipients:,}"
    return results(bare, outcomes, drained, note)


def seed_data(ctx: Context, env: dict[str, str], workdir: Path, *, hits: int, recipients: int) -> dict:
    paths = workdir / "paths.txt"
    argv = [sys.executable, "-m", "bench.load_seed", str(hits), str(recipients), str(paths)]
    done = subprocess.run(argv, env=env, cwd=ctx.root, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed: {done.stderr.strip().splitlines()[-1:]}")
    seed = json.loads(done.stdout.strip().splitlines()[-1])
    pairs = [line.split() for line in paths.read_text().splitlines()]
    (workdir / "open.txt").write_text("\n".join(opened for opened, _ in pairs) + "\n")
    (workdir / "click.txt").write_text("\n".join(clicked for _, clicked in pairs) + "\n")
    return seed


def start_servers(ctx: Context, env: dict[str, str], workdir: Path, servers: ExitStack, port: int) -> None:
    """gunicorn, a prefork worker on the run's queue and beat; returns once gunicorn answers /healthz."""
    queue = env["CELERY_QUEUE"]
    celery = [sys.executable, "-m", "celery", "-A", "mautomation"]
    worker = [*celery, "worker", "--pool", "prefork", "--concurrency", "2", "-Q", queue, "-n", f"{queue}@%h",
              "--loglevel", "WARNING", "--without-mingle", "--without-gossip"]  # fmt: skip
    beat = [*celery, "beat", "-s", str(workdir / "beat-schedule"), "--loglevel", "WARNING"]
    for name, argv in (("worker", worker), ("beat", beat)):
        servers.enter_context(services.process(argv, env=env, cwd=ctx.root, log=workdir / f"{name}.log"))
    log = workdir / "gunicorn.log"
    argv = services.gunicorn_argv("bench_tracking_bare:application", port, HOST)
    gunicorn = servers.enter_context(services.process(argv, env=env, cwd=ctx.root, log=log))
    wait_ready(port, gunicorn, log)


def request_kinds(port: int, seed: dict, workdir: Path) -> list[load_wrk.Kind]:
    cookie, csrf = csrf_pair(port, seed["form_slug"])
    fields = {"_token": seed["form_token"], "csrfmiddlewaretoken": csrf, "website": "", "company": "株式会社ロード",
              "consent": "on"}  # fmt: skip
    form_body = urlencode(fields) + f"&email=f{{n}}%40{quote(FORM_DOMAIN)}"  # {n}: a new address per request
    form_headers = {**BROWSER, "Origin": f"https://{HOST}", "Cookie": f"csrftoken={cookie}",
                    "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    upsert = json.dumps({"email": f"a{{n}}@{API_DOMAIN}", "last_name": "ロード", "company_name": "Load",
                         "touch": {"utm_source": "load", "url": "https://www.example.co.jp/lp"}})  # fmt: skip
    api = {**BROWSER, "Authorization": f"Token {seed['api_token']}"}
    c, kind = CONNECTIONS, load_wrk.Kind
    return [
        kind("form", "POST", f"/f/{seed['form_slug']}/", c["form"], body=form_body, headers=form_headers),
        kind("page", "GET", f"/p/{seed['page_slug']}/", c["page"], headers=BROWSER),
        kind("open", "GET", "", c["open"], headers=BROWSER, paths=workdir / "open.txt"),
        kind("click", "GET", "", c["click"], headers=BROWSER, paths=workdir / "click.txt"),
        kind(
            "api_upsert",
            "POST",
            "/api/v1/leads/",
            c["api_upsert"],
            body=upsert,
            headers={**api, "Content-Type": "application/json"},
        ),  # fmt: skip
        kind("api_list", "GET", "/api/v1/leads/", c["api_list"], headers=api),
    ]


PENDING_SQL = {
    "ingest": "SELECT (SELECT count(*) FROM landing_submission WHERE ingested_at IS NULL OR lead_id IS NULL)"
    " + (SELECT count(*) FROM leads_activity WHERE kind = 'form_submit' AND processed_at IS NULL)",
    "hits": "SELECT count(*) FROM leads_activity WHERE campaign_id = %(hits)s AND processed_at IS NULL",
    "sends": "SELECT count(*) FROM campaigns_send WHERE campaign_id = %(broadcast)s AND status <> ALL(%(settled)s)",
}


def drain(database_url: str, seed: dict, sink: Sink, running: load_wrk.Running, *, timeout: float):
    """Poll from the end of the window until wrk is done and nothing is pending; seconds to each drained state."""
    since: dict[str, float | None] = dict.fromkeys(PENDING_SQL)
    delivered: dict[str, int] = {}  # broadcast messages in the sink when the window closed
    params = {"hits": seed["hits_campaign"], "broadcast": seed["broadcast"], "settled": list(SETTLED)}
    with psycopg.connect(database_url, autocommit=True) as db:
        while True:
            now, finished = time.time(), running.finished()
            if now >= running.deadline and "in_window" not in delivered:
                delivered["in_window"] = sum(sink.to(MAIL_DOMAIN).values())
            left = pending(db, params, sink)
            for name, count in left.items():
                since[name] = (since[name] or now) if not count and now >= running.deadline else None
            if finished and all(since.values()):
                drained = {name: max(0.0, t - running.deadline) for name, t in since.items()}
                return running.outcomes(), {**drained, **delivered}
            if now > running.deadline + timeout:
                running.stop()
                raise RuntimeError(f"backlog not drained {timeout:.0f} s after the load; still pending: {left}")
            time.sleep(0.2)


def pending(db: psycopg.Connection, params: dict, sink: Sink) -> dict[str, int]:
    """Items not yet through, per stage; for sends also the difference between sent and the sink's messages."""
    left = {name: db.execute(sql, params).fetchone()[0] for name, sql in PENDING_SQL.items()}
    sql = "SELECT count(*) FROM campaigns_send WHERE campaign_id = %(broadcast)s AND status = 'sent'"
    left["sends"] += abs(db.execute(sql, params).fetchone()[0] - sum(sink.to(MAIL_DOMAIN).values()))
    return left


COUNTS_SQL = {
    "submissions": "SELECT count(*) FROM landing_submission WHERE form_id = %(form)s",
    "ingested": "SELECT count(*) FROM landing_submission WHERE form_id = %(form)s AND lead_id IS NOT NULL",
    "form_activities": "SELECT count(*) FROM leads_activity WHERE kind = 'form_submit' AND form_id = %(form)s",
    "form_leads": "SELECT count(*) FROM leads_lead WHERE email_key LIKE %(form_leads)s",
    "form_scores": "SELECT count(*) FROM scoring_scoreentry WHERE rule_id = %(form_rule)s",
    "opens": "SELECT count(*) FROM leads_activity WHERE campaign_id = %(hits)s AND kind = 'email_opened'",
    "clicks": "SELECT count(*) FROM leads_activity WHERE campaign_id = %(hits)s AND kind = 'email_clicked'",
    "click_scores": "SELECT count(*) FROM scoring_scoreentry WHERE rule_id = %(click_rule)s",
    "unprocessed": "SELECT count(*) FROM leads_activity WHERE lead_id IS NOT NULL AND processed_at IS NULL"
    " AND kind IN ('form_submit', 'email_opened', 'email_clicked')",
    "api_leads": "SELECT count(*) FROM leads_lead WHERE email_key LIKE %(api_leads)s",
    "sends": "SELECT count(*) FROM campaigns_send WHERE campaign_id = %(broadcast)s",
    "sends_sent": "SELECT count(*) FROM campaigns_send WHERE campaign_id = %(broadcast)s AND status = 'sent'",
}


def check(database_url: str, seed: dict, sink: Sink, outcomes: list[load_wrk.Outcome], *, recipients: int) -> None:
    """Every error, unanswered request, lost or doubled item, or raise with all of them."""
    params = {"form": seed["form_id"], "hits": seed["hits_campaign"], "broadcast": seed["broadcast"],
              "form_rule": seed["rules"]["form_submit"], "click_rule": seed["rules"]["email_clicked"],
              "form_leads": f"%@{FORM_DOMAIN}", "api_leads": f"%@{API_DOMAIN}"}  # fmt: skip
    with psycopg.connect(database_url) as db:
        got = {name: db.execute(sql, params).fetchone()[0] for name, sql in COUNTS_SQL.items()}
    done = {o.name: o.answered for o in outcomes}
    mail = sink.to(MAIL_DOMAIN)
    expected = {
        "submissions": done["form"], "ingested": done["form"], "form_activities": done["form"],
        "form_leads": done["form"], "form_scores": done["form"], "opens": done["open"], "clicks": done["click"],
        "click_scores": done["click"], "unprocessed": 0, "api_leads": done["api_upsert"], "sends": recipients,
        "sends_sent": recipients,
    }  # fmt: skip
    problems = [f"{o.name}: {o.errors} errors" for o in outcomes if o.errors]
    problems += [f"{o.name}: {o.sent - o.answered} of {o.sent} unanswered" for o in outcomes if o.sent != o.answered]
    problems += [f"{name}: {got[name]}, expected {want}" for name, want in expected.items() if got[name] != want]
    if sum(mail.values()) != got["sends_sent"] or any(n > 1 for n in mail.values()):
        problems.append(f"sink: {sum(mail.values())} messages to {len(mail)} addresses for {got['sends_sent']} sent")
    if problems:
        raise RuntimeError("load run: " + "; ".join(problems))


def results(bare: load_wrk.Outcome, outcomes: list[load_wrk.Outcome], drained: dict, note: str) -> list[Result]:
    base = "bare GIF view alone"
    rows = []
    for o in outcomes:
        detail = f"{CONNECTIONS[o.name]} conns, {o.answered:,} requests, 0 errors, p50 {o.pct(50):.1f} ms"
        rows.append(Result.measured(f"load.{o.name}_rps", o.rps, "req/s", base, bare.rps, detail))
        rows.append(Result.measured(f"load.{o.name}_p99", o.pct(99), "ms", f"{base} p99", bare.pct(99), detail))
    total = sum(o.rps for o in outcomes)
    answered = sum(o.answered for o in outcomes)
    rows += [
        Result.measured("load.total_rps", total, "req/s", base, bare.rps, f"{answered:,} requests, 0 errors; {note}"),
        Result.measured(
            "load.total_p50",
            load_wrk.merged_percentile(outcomes, 50),
            "ms",
            f"{base} p50",
            bare.pct(50),
            "merged from each kind's 0.1 % quantiles",
        ),  # fmt: skip
        Result.measured(
            "load.total_p99",
            load_wrk.merged_percentile(outcomes, 99),
            "ms",
            f"{base} p99",
            bare.pct(99),
            "merged from each kind's 0.1 % quantiles",
        ),  # fmt: skip
        Result("load.errors", 0, "errors", note="non-2xx/3xx and socket errors, every kind; any one fails the run"),
        Result("load.lost", 0, "items", note="submissions, leads, activities, scores, sends and sink messages, exact"),
    ]
    for name, what in (("ingest", "every submission a scored lead"), ("hits", "every hit dispatched to scoring"),
                       ("sends", "every send settled, sink == sent")):  # fmt: skip
        rows.append(Result(f"load.drain_{name}_s", drained[name], "s", note=f"after the window: {what}"))
    rows[-1].note += f"; {drained['in_window']:,} of the broadcast's messages were sent during the window"
    return rows


def cleanup(r: redis.Redis, prefix: str) -> None:
    """The run's queue and cache keys; its database is dropped by own_database."""
    try:
        keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
        keys += [f"_kombu.binding.{prefix}", f"_kombu.binding_permanent.{prefix}"]
        for start in range(0, len(keys), 500):
            r.delete(*keys[start : start + 500])
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)
