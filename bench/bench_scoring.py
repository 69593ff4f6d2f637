"""Scoring: event-to-score latency through the worker against a ping, and a full rescore against one GROUP BY."""

import json
import random
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from bench import services
from bench.context import POSTGRES_ADMIN_URL, Context
from bench.core import Result, percentile

# Its own Redis database: bench_tasks and bench_http use BENCH_REDIS_URL's (14 by default).
REDIS_DB = 12
RESCORE_TARGET_S = 60  # for TARGET_EVENTS events and a tenth as many leads
TARGET_EVENTS = 1_000_000
HOST = "https://www.example.co.jp"
# The latency events view a case study: two every-time rules (+5, +1), so each event moves the score.
LATENCY_URL = HOST + "/case-studies/bench-{}/"
LATENCY_POINTS = 6
BASELINE_SQL = (
    "SELECT lead_id, count(*), sum(CASE WHEN kind = 'page_view' THEN 1 ELSE 0 END) FROM leads_activity GROUP BY lead_id"
)

# name, event kind, URL match, URL pattern, form id, points, frequency
RULES = [
    ("料金ページ閲覧", "page_view", "prefix", "/pricing", None, 10, "daily"),
    ("事例ページ閲覧", "page_view", "contains", "/case-studies/", None, 5, "every"),
    ("デモページ閲覧", "page_view", "regex", r"/products/[a-z0-9-]+/demo/", None, 8, "every"),
    ("ページ閲覧", "page_view", "contains", "", None, 1, "every"),
    ("採用ページ閲覧", "page_view", "prefix", "/careers/", None, -10, "once"),
    ("お問い合わせ", "form_submit", "contains", "", 1, 30, "once"),
    ("フォーム送信", "form_submit", "contains", "", None, 15, "every"),
    ("メール開封", "email_opened", "contains", "", None, 1, "daily"),
    ("メールクリック", "email_clicked", "contains", "", None, 3, "every"),
    ("ホワイトペーパー", "download", "contains", ".pdf", None, 10, "once"),
]
FIT_RULES = [("管理職", "title", "contains", "部長,課長", 10), ("フリーメール", "free_mail", "true", "", -5)]

# What leads do, by share of their events; about 5% more are anonymous page views (no lead).
KINDS = [("page_view", 62), ("email_opened", 16), ("email_delivered", 6), ("email_clicked", 6),
         ("form_submit", 4), ("download", 3), ("email_sent", 3)]  # fmt: skip
PAGES = [("/", 15), ("/blog/{}/", 30), ("/products/{}/", 15), ("/products/{}/demo/", 3), ("/case-studies/{}/", 10),
         ("/pricing/", 6), ("/careers/{}/", 2), ("/news/{}/", 9), ("/contact/", 4), ("/docs/{}/", 6)]  # fmt: skip
SLUGS = ["crm", "ma-basic", "ma-pro", "analytics", "form-builder", "seminar-2024", "dx", "security", "api", "bi"]
TITLES = ["部長", "課長", "主任", "マネージャー", "担当", "", "", ""]
FREE_MAIL = ["gmail.com", "yahoo.co.jp", "outlook.jp"]


def run(ctx: Context) -> list[Result]:
    redis_url = urlunsplit(urlsplit(ctx.redis_url)._replace(path=f"/{REDIS_DB}"))
    r = services.require_redis(redis_url)
    events, leads, samples = ctx.pick(1_000_000, 100_000), ctx.pick(100_000, 10_000), ctx.pick(200, 50)
    limit = ctx.pick(600, 180)  # seconds a rescore may take: ten times the target (three times with --quick)
    work = ctx.workdir("scoring")
    queue = f"bench-scoring-{uuid.uuid4().hex[:10]}"
    # Nobody consumes this one: the alert and stream tasks the rescore enqueues for new hot leads wait there.
    idle_queue = f"{queue}-rescore"
    env = ctx.production_env(REDIS_URL=redis_url, CELERY_QUEUE=queue, CACHE_KEY_PREFIX=queue)
    try:
        with services.bench_database(
            POSTGRES_ADMIN_URL, migrate_env=env, cwd=ctx.root, log=work / "migrate.log"
        ) as url:
            env = {**env, "DATABASE_URL": url}
            helper(ctx, env, ["setup"], work / "setup.log", timeout=120)
            generated = generate(url, events=events, leads=leads, seed=20240401)
            group_by_s = group_by(url)
            rescore_env = {**env, "CELERY_QUEUE": idle_queue}
            first = rescore(ctx, rescore_env, work / "rescore.log", limit)
            check = verify(url) if first else None
            # Again, over the ledger the first one built: what every rescore after a rule change costs.
            again = rescore(ctx, rescore_env, work / "rescore-again.log", limit) if first else None
            if again and verify(url)["ledger"] != check["ledger"]:
                raise RuntimeError("a second rescore of the same events built a different ledger")
            latency = measure_latency(ctx, env, queue, samples, work)
    finally:
        cleanup(r, [queue, idle_queue])
    return [
        *latency_rows(latency, samples),
        *rescore_rows(generated, group_by_s, first, again, check, limit),
    ]


# --- the data ---------------------------------------------------------------------------------------------------


def generate(url: str, *, events: int, leads: int, seed: int) -> dict[str, float]:
    """Leads and their activities, written with COPY: a skewed, realistic mix over the last 180 days."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    clock = Clock(days=180)
    # A few leads do most things: Pareto weights give a long tail of very active leads.
    weights = [rng.paretovariate(1.3) for _ in range(leads)]
    anonymous = events // 20
    owners: list[int | None] = [*rng.choices(range(leads), weights=weights, k=events - anonymous), *[None] * anonymous]
    rng.shuffle(owners)
    moments = [rng.randrange(clock.span) for _ in range(events)]
    last_seen: dict[int, int] = {}
    for lead, moment in zip(owners, moments, strict=True):
        if lead is not None and moment > last_seen.get(lead, -1):
            last_seen[lead] = moment
    with connect(url, timeout_s=900) as conn:
        with suppress(psycopg.errors.InsufficientPrivilege):
            # Generated ids are known to exist: skip the per-row foreign-key triggers (superuser only).
            conn.execute("SET session_replication_role = replica")
        with conn.cursor() as cursor, cursor.copy(LEAD_COPY) as copy:
            copy.write("".join(lead_line(i, rng, clock, last_seen.get(i)) for i in range(leads)))
        ids = [row[0] for row in conn.execute("SELECT id FROM leads_lead ORDER BY id")]
        kinds, pages = expand(KINDS), expand(PAGES)
        with conn.cursor() as cursor, cursor.copy(ACTIVITY_COPY) as copy:
            for start in range(0, events, 50_000):
                chunk = zip(owners[start : start + 50_000], moments[start : start + 50_000], strict=True)
                lines = [
                    activity_line(None if owner is None else ids[owner], clock.stamp(moment), rng, kinds, pages)
                    for owner, moment in chunk
                ]
                copy.write("".join(lines))
        generate_s = time.perf_counter() - t0
        conn.execute("RESET session_replication_role")
        conn.execute("VACUUM ANALYZE leads_lead")
        conn.execute("VACUUM ANALYZE leads_activity")
    return {"events": events, "leads": leads, "generate_s": generate_s}


class Clock:
    """Timestamps as COPY text, cheaply: seconds since a UTC midnight `days` ago, formatted from two tables."""

    def __init__(self, days: int) -> None:
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
        self.span = days * 86400
        self.days = [(start + timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(days + 1)]
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(86400)]

    def stamp(self, moment: int) -> str:
        return self.days[moment // 86400] + self.times[moment % 86400]


LEAD_COPY = (
    "COPY leads_lead (email, email_key, last_name, first_name, last_name_kana, first_name_kana, company_name,"
    " department, title, phone, phone_key, source, stage, email_status, consent, score, fit_score, custom,"
    " first_touch, last_touch, created_at, updated_at, last_activity_at) FROM STDIN"
)
ACTIVITY_COPY = (
    "COPY leads_activity (visitor_id, kind, occurred_at, url, campaign_id, form_id, data, dedup_key, processed_at,"
    " lead_id) FROM STDIN"
)


def lead_line(i: int, rng: random.Random, clock: Clock, last_seen: int | None) -> str:
    domain = rng.choice(FREE_MAIL) if rng.random() < 0.2 else f"company{i // 40}.example.jp"
    email = f"user{i}@{domain}"
    created = clock.stamp(rng.randrange(min(clock.span, 86400 * 30)))  # before most of their activity
    last = r"\N" if last_seen is None else clock.stamp(last_seen)
    names = ["佐藤", "太郎", "さとう", "たろう", f"株式会社サンプル{i // 40}", "営業部", rng.choice(TITLES)]
    fields = [
        email,
        email,
        *names,
        "",
        "",
        "bench",
        "lead",
        "ok",
        "t",
        "0",
        "0",
        "{}",
        "{}",
        "{}",
        created,
        created,
        last,
    ]
    return "\t".join(fields) + "\n"


def activity_line(lead_id: int | None, stamp: str, rng: random.Random, kinds: list[str], pages: list[str]) -> str:
    kind = "page_view" if lead_id is None else rng.choice(kinds)
    url, campaign, form, data, visitor = "", r"\N", r"\N", "{}", ""
    if kind == "page_view":
        url = HOST + rng.choice(pages).format(rng.choice(SLUGS))
        if rng.random() < 0.2:
            url += f"?utm_source=newsletter&utm_campaign=c{rng.randrange(30)}"
        visitor = f"{rng.getrandbits(128):032x}"
    elif kind == "download":
        url = HOST + (f"/files/whitepaper-{rng.randrange(12)}.pdf" if rng.random() < 0.7 else "/files/catalog.zip")
    elif kind == "form_submit":
        form = str(rng.randrange(1, 7))
    elif kind.startswith("email_"):
        campaign = str(rng.randrange(1, 31))
        if kind == "email_clicked":
            url = f"{HOST}/campaign/{campaign}/?utm_medium=email"
        elif kind == "email_opened" and rng.random() < 0.2:
            data = '{"machine": true}'  # an image proxy or a security scanner
    lead = r"\N" if lead_id is None else str(lead_id)
    return "\t".join([visitor, kind, stamp, url, campaign, form, data, r"\N", stamp, lead]) + "\n"


def expand(weighted: list[tuple[str, int]]) -> list[str]:
    return [item for item, weight in weighted for _ in range(weight)]


def connect(url: str, *, timeout_s: int) -> psycopg.Connection:
    """An autocommit connection whose every statement is bounded in time."""
    return psycopg.connect(url, autocommit=True, connect_timeout=5, options=f"-c statement_timeout={timeout_s * 1000}")


def group_by(url: str) -> float:
    """Seconds for one GROUP BY over every event, warm: the least any pass over the stream costs."""
    with connect(url, timeout_s=120) as conn:
        conn.execute(BASELINE_SQL).fetchall()  # the same warm cache the rescore had
        t0 = time.perf_counter()
        rows = conn.execute(BASELINE_SQL).fetchall()
        elapsed = time.perf_counter() - t0
    if not rows:
        raise RuntimeError("the GROUP BY baseline returned no rows")
    return elapsed


def verify(url: str) -> dict[str, int]:
    """Cheap checks on the rescore: some scores, and every cached score the sum of its ledger."""
    with connect(url, timeout_s=120) as conn:
        ledger, ledger_sum = conn.execute(
            "SELECT count(*), coalesce(sum(points), 0) FROM scoring_scoreentry"
        ).fetchone()
        scored, score_sum, hot = conn.execute(
            "SELECT count(*) FILTER (WHERE score <> 0), coalesce(sum(score), 0), count(mql_at) FROM leads_lead"
        ).fetchone()
    if not scored:
        raise RuntimeError(f"the rescore left every score at zero ({ledger} ledger rows)")
    if score_sum != ledger_sum:
        raise RuntimeError(f"the leads' scores add up to {score_sum} but their ledger rows to {ledger_sum}")
    return {"ledger": ledger, "scored": scored, "hot": hot}


# --- the worker and the latency ---------------------------------------------------------------------------------


def measure_latency(ctx: Context, env: dict[str, str], queue: str, samples: int, work: Path) -> dict:
    def run() -> dict:
        return helper(ctx, env, ["latency", str(samples)], work / "latency.log", timeout=120 + samples * 2)

    return services.with_worker(queue, env=env, cwd=ctx.root, log=work / "worker.log", run=run)


def rescore(ctx: Context, env: dict[str, str], log: Path, limit: float) -> dict | None:
    """rescore() timed in its own Django process; None when it did not finish within `limit` seconds."""
    try:
        return helper(ctx, env, ["rescore"], log, timeout=limit)
    except HelperTimeout as exc:
        print(f"bench: scoring {exc}", file=sys.stderr)
        return None


class HelperTimeout(RuntimeError):
    pass


def helper(ctx: Context, env: dict[str, str], args: list[str], log: Path, *, timeout: float) -> dict:
    """Run this module's `main` in a Django process with `env`; its JSON answer is the last line it prints."""
    argv = [sys.executable, "-m", "bench.bench_scoring", *args]
    try:
        with open(log, "wb") as err:
            done = subprocess.run(
                argv, env=env, cwd=ctx.root, stdout=subprocess.PIPE, stderr=err, timeout=timeout, check=False
            )
    except subprocess.TimeoutExpired:
        raise HelperTimeout(f"bench_scoring {args[0]} did not finish within {timeout:.0f}s") from None
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench_scoring {args[0]} exited with {done.returncode}: {services.tail(log)}")
    return json.loads(lines[-1])


def cleanup(r: redis.Redis, queues: list[str]) -> None:
    """Remove this run's keys from Redis: queues, their bindings, cache keys (all named after the queue)."""
    try:
        for queue in queues:
            keys = [*r.scan_iter(match=f"{queue}*", count=1000)]
            keys += [f"_kombu.{kind}.{queue}" for kind in ("binding", "binding_permanent")]
            for start in range(0, len(keys), 500):
                r.delete(*keys[start : start + 500])
            for member in r.smembers("_kombu.binding.celery.pidbox"):
                if queue.encode() in member:  # the worker's remote-control binding, named after its node
                    r.srem("_kombu.binding.celery.pidbox", member)
        for exchange in ("celery.pidbox", "reply.celery.pidbox"):
            if not r.exists(f"_kombu.binding.{exchange}"):
                r.zrem("_kombu.binding_deadlines", exchange)
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)


# --- the table --------------------------------------------------------------------------------------------------


def latency_rows(latency: dict, samples: int) -> list[Result]:
    note = f"{samples} page views, stream.record+commit -> score seen, ping interleaved"
    return [
        Result.measured(
            f"scoring.latency_p{p}",
            percentile(latency["scoring_ms"], p),
            "ms",
            f"celery ping p{p}",
            percentile(latency["ping_ms"], p),
            note,
        )
        for p in (50, 99)
    ]


def rescore_rows(
    generated: dict, group_by_s: float, first: dict | None, again: dict | None, check: dict | None, limit: float
) -> list[Result]:
    events, leads = generated["events"], generated["leads"]
    size = f"{events:,} events, {leads:,} leads, {len(RULES)} rules"
    baseline = "GROUP BY lead_id"
    rows = [
        rescore_row("scoring.rescore_s", first, group_by_s, limit, f"{size}, empty ledger", events),
        rescore_row("scoring.rescore_again_s", again, group_by_s, limit, "over that ledger", events),
    ]
    if first:
        rate = events / first["seconds"]
        rows.append(Result.measured("scoring.rescore_rate", rate, "events/s", baseline, events / group_by_s, size))
    if first and check:
        note = f"{check['scored']:,} leads scored, {first['newly_hot']:,} newly hot"
        rows.append(Result.measured("scoring.ledger_rows", check["ledger"], "rows", "activities", events, note))
    return rows


def rescore_row(name: str, rescored: dict | None, group_by_s: float, limit: float, what: str, events: int) -> Result:
    if rescored is None:
        return Result(name, None, "s", "GROUP BY lead_id", group_by_s, None, f"{what}; not done within {limit:.0f} s")
    seconds = rescored["seconds"]
    if events >= TARGET_EVENTS:
        what += f"; target < {RESCORE_TARGET_S} s {'met' if seconds < RESCORE_TARGET_S else 'MISSED'}"
    phases = ", ".join(f"{phase} {value:.1f}" for phase, value in rescored["phases"].items())
    note = f"{what}; s in {phases}"
    return Result.measured(name, seconds, "s", "GROUP BY lead_id", group_by_s, note)


# --- inside the Django processes (python -m bench.bench_scoring ...) -------------------------------------------


def setup_main() -> dict:
    from scoring.models import FitRule, ScoringRule, ScoringSettings

    for name, kind, match, pattern, form_id, points, frequency in RULES:
        rule = ScoringRule(name=name, event_kind=kind, url_match=match, url_pattern=pattern, form_id=form_id,
                           points=points, frequency=frequency)  # fmt: skip
        rule.full_clean()
        rule.save()
    for name, field, operator, value, points in FIT_RULES:
        fit = FitRule(name=name, field=field, operator=operator, value=value, points=points)
        fit.full_clean()
        fit.save()
    ScoringSettings.load()
    return {"rules": len(RULES), "fit_rules": len(FIT_RULES)}


def rescore_main() -> dict:
    """Time rescore(), with its phases: patched module globals, which the rescore looks up at each call."""
    import scoring.rescore as rescore_module
    import scoring.rescore_pg as pg

    totals: dict[str, float] = {}

    def timed(module, name: str) -> None:
        fn = getattr(module, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0

        setattr(module, name, wrapper)

    for name in ("rebuild_ledger", "apply_decay", "cross_all"):
        timed(rescore_module, name)
    for name in PG_PHASES:
        timed(pg, name)
    t0 = time.perf_counter()
    result = rescore_module.rescore()
    seconds = time.perf_counter() - t0
    inside = sum(totals.get(name, 0.0) for name in PG_PHASES)
    phases = {
        **{label: totals.get(name, 0.0) for name, label in PG_PHASES.items()},
        "commit": totals.get("rebuild_ledger", 0.0) - inside,  # the deferred foreign-key checks of new rows
        "decay": totals.get("apply_decay", 0.0),
        "hot leads": totals.get("cross_all", 0.0),
    }
    return {"seconds": seconds, "entries": result.entries, "leads": result.leads, "newly_hot": result.newly_hot,
            "phases": phases}  # fmt: skip


# The steps of scoring.rescore_pg.rebuild, and their names in the table's note.
PG_PHASES = {"build_wanted": "one pass", "delete_stale": "delete", "update_changed": "update",
             "insert_missing": "insert", "refresh_caches": "caches"}  # fmt: skip


def latency_main(count: int) -> dict:
    from django.db import connection, transaction

    from leads import stream
    from leads.models import Activity, Lead
    from mautomation.tasks import ping
    from scoring.hot import is_hot
    from scoring.models import ScoringSettings

    def round_trip(nonce: str, timeout: float = 10) -> float:
        t0 = time.perf_counter()
        result = ping.delay(nonce)
        echoed = result.get(timeout=timeout)
        elapsed = (time.perf_counter() - t0) * 1000
        result.forget()
        if echoed != nonce:
            raise RuntimeError(f"ping returned {echoed!r} for {nonce!r}")
        return elapsed

    def score_of(lead_id: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT score FROM leads_lead WHERE id = %s", [lead_id])
            return cursor.fetchone()[0]

    def event(lead: Lead, n: int, timeout: float = 10) -> float:
        expected = score_of(lead.pk) + LATENCY_POINTS
        t0 = time.perf_counter()
        with transaction.atomic():
            stream.record(kind=Activity.Kind.PAGE_VIEW, lead=lead, visitor_id=uuid.uuid4().hex,
                          url=LATENCY_URL.format(n), data={"title": "導入事例"})  # fmt: skip
        deadline = t0 + timeout
        while (score := score_of(lead.pk)) != expected:
            if score > expected or time.perf_counter() > deadline:
                raise RuntimeError(f"lead {lead.pk}: score {score}, expected {expected} after one event")
            time.sleep(0.001)  # fine enough for ~100 ms, and leaves the CPU to the worker
        return (time.perf_counter() - t0) * 1000

    round_trip("ready", timeout=60)  # the worker has started
    config = ScoringSettings.load()
    # Leads far enough under the threshold that the events here make none of them hot (no alert tasks).
    margin = config.hot_threshold - 2 * LATENCY_POINTS
    warm = 10
    candidates = Lead.objects.filter(mql_at__isnull=True, score__lt=margin).order_by("pk")
    leads = list(candidates[: (count + warm) * 5 : 5])
    if len(leads) < count + warm or any(is_hot(lead, config) for lead in leads):
        raise RuntimeError(f"only {len(leads)} leads far enough under the hot threshold")
    for i in range(warm):  # worker imports, connections, the result pubsub subscription
        round_trip(f"warm{i}")
        event(leads[i], -i)
    ping_ms, scoring_ms = [], []
    for n, lead in enumerate(leads[warm:]):  # interleaved, so a burst of noise hits both alike
        ping_ms.append(round_trip(f"{n}-{uuid.uuid4().hex[:8]}"))
        scoring_ms.append(event(lead, n))
    return {"ping_ms": ping_ms, "scoring_ms": scoring_ms}


def main(argv: list[str]) -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
    django.setup()
    command = argv[0] if argv else ""
    if command == "setup":
        answer = setup_main()
    elif command == "rescore":
        answer = rescore_main()
    elif command == "latency":
        answer = latency_main(int(argv[1]))
    else:
        raise SystemExit("usage: python -m bench.bench_scoring setup | rescore | latency COUNT")
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
