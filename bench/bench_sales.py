"""Sales workspace: the hot-lead list and a lead page over 100,000 leads and 1,000,000 events, against /healthz.

The data is bench_scoring's (COPY of leads and a skewed mix of their activities);
a tenth of the leads are then made hot in set-based UPDATEs, with a few ledger rows
each, and the most active lead is one of them. A sales user logs in with a session
cookie created directly in the session store. gunicorn (2 sync workers) serves the
pages; /healthz is loaded in the same interleaved rounds as the baseline.
"""

import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from bench import httpload, services
from bench.bench_api import Request, load
from bench.bench_http import CONCURRENCY, med, wait_ready
from bench.bench_scoring import connect, generate
from bench.context import POSTGRES_ADMIN_URL, Context
from bench.core import Result

USER_SCRIPT = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
user = User.objects.create_user({username!r}, email="seller@example.com")
user.groups.add(Group.objects.get(name="sales"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(user.pk, session.session_key)
"""

# A tenth of the leads become hot (MQL, one in fifty already an opportunity), two thirds of them owned.
HOT_SQL = """
UPDATE leads_lead SET
  stage = CASE WHEN id % 50 = 0 THEN 'opportunity' ELSE 'mql' END,
  score = 50 + (id * 7919) % 150,
  mql_at = now() - ((id % 96) || ' hours')::interval,
  owner_id = CASE WHEN id % 3 = 0 THEN NULL ELSE %(owner)s END
WHERE id % 10 = 0 OR id = (SELECT lead_id FROM leads_activity WHERE lead_id IS NOT NULL
                           GROUP BY lead_id ORDER BY count(*) DESC LIMIT 1)
"""
COLD_SQL = "UPDATE leads_lead SET score = (id * 7919) % 50 WHERE stage = 'lead'"
LEDGER_SQL = """
INSERT INTO scoring_scoreentry (lead_id, kind, "window", points, reason, created_at)
SELECT id, 'manual', 'bench-' || n, score / 3, (ARRAY['資料請求', '料金ページ閲覧', 'セミナー参加'])[n], now()
FROM leads_lead, generate_series(1, 3) AS n WHERE stage <> 'lead'
"""
BUSIEST_SQL = """
SELECT lead_id FROM leads_activity WHERE lead_id IS NOT NULL GROUP BY lead_id ORDER BY count(*) DESC LIMIT 1
"""


def run(ctx: Context) -> list[Result]:
    services.require_redis(ctx.redis_url)
    events, leads = ctx.pick(1_000_000, 100_000), ctx.pick(100_000, 10_000)
    # Its own directory rather than ctx.workdir: while the data is generated (minutes), a shared
    # /tmp/mautomation-bench-* directory was seen removed by another process on this machine.
    work = Path(tempfile.mkdtemp(prefix="sales-bench-"))
    try:
        return _run(ctx, work, events=events, leads=leads)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(ctx: Context, work: Path, *, events: int, leads: int) -> list[Result]:
    prefix = f"bench-sales-{uuid.uuid4().hex[:10]}"
    env = ctx.production_env(
        STATIC_ROOT=str(work / "static"), MAUTOMATION_VAR_DIR=str(work / "var"), CACHE_KEY_PREFIX=prefix,
        CELERY_QUEUE=prefix,
    )  # fmt: skip
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]  # wait_ready loads a static file
    services.run_logged(collect, env=env, cwd=ctx.root, log=work / "collectstatic.log", what="collectstatic")
    with services.bench_database(POSTGRES_ADMIN_URL, migrate_env=env, cwd=ctx.root, log=work / "migrate.log") as url:
        env = {**env, "DATABASE_URL": url}
        generate(url, events=events, leads=leads, seed=20261124)
        user_id, session = create_session(ctx, env, work, username=prefix)
        hot, busiest, busiest_events = make_hot(url, owner=user_id)
        loads = measure(ctx, env, work, session=session, busiest=busiest)
    size = f"{leads:,} leads ({hot:,} hot), {events:,} events; lead page: {busiest_events:,} events"
    return rows(loads, size, ctx.pick(3, 1))


def create_session(ctx: Context, env: dict[str, str], work: Path, *, username: str) -> tuple[int, str]:
    log = work / "user.log"
    argv = [sys.executable, "manage.py", "shell", "-c", USER_SCRIPT.format(username=username)]
    services.run_logged(argv, env=env, cwd=ctx.root, log=log, what="create the sales user")
    user_id, key = log.read_text().split()[-2:]
    return int(user_id), key


def make_hot(url: str, *, owner: int) -> tuple[int, int, int]:
    """Set-based: hot leads, cold scores, three ledger rows per hot lead. Returns (hot, busiest lead, its events)."""
    with connect(url, timeout_s=600) as conn:
        hot = conn.execute(HOT_SQL.replace("%(owner)s", str(int(owner)))).rowcount
        conn.execute(COLD_SQL)
        conn.execute(LEDGER_SQL)
        busiest = conn.execute(BUSIEST_SQL).fetchone()[0]
        count = conn.execute("SELECT count(*) FROM leads_activity WHERE lead_id = %s", [busiest]).fetchone()[0]
        conn.execute("VACUUM ANALYZE leads_lead")
        conn.execute("VACUUM ANALYZE scoring_scoreentry")
    return hot, busiest, count


def measure(ctx: Context, env: dict[str, str], work: Path, *, session: str, busiest: int) -> dict:
    port, log = services.free_port(), work / "gunicorn.log"
    argv = services.gunicorn_argv("mautomation.wsgi:application", port)
    cookie = {"Cookie": f"sessionid={session}"}
    pages: dict[str, Callable[[int], Request]] = {
        "healthz": lambda i: ("GET", "/healthz", None, {}),
        "list": lambda i: ("GET", "/sales/", None, cookie),
        "mine": lambda i: ("GET", "/sales/?owner=mine&new=1", None, cookie),
        "page2": lambda i: ("GET", "/sales/?page=20", None, cookie),
        "lead": lambda i: ("GET", f"/sales/leads/{busiest}/", None, cookie),
    }
    loads: dict[str, list[httpload.Load]] = {name: [] for name in pages}
    rounds, requests, seconds = ctx.pick(3, 1), ctx.pick(500, 100), ctx.pick(10, 3)
    with services.process(argv, env=env, cwd=ctx.root, log=log) as server:
        wait_ready(port, server, log)
        for make in pages.values():  # warm-up: lazy imports, connections, the database cache
            load(port, make, requests=20, seconds=10, offset=10**9)
        for round_ in range(rounds):  # interleaved, so a burst of noise on the machine hits all alike
            for name, make in pages.items():
                loads[name].append(load(port, make, requests=requests, seconds=seconds, offset=round_ * 10**6))
    return loads


def rows(loads: dict, size: str, rounds: int) -> list[Result]:
    note = f"{size}; gunicorn sync x2, {CONCURRENCY} conns, median of {rounds} rounds"
    base, base_p99 = med(loads["healthz"], "p50_ms"), med(loads["healthz"], "p99_ms")
    results = []
    for name, label in (("list", "hot_list"), ("mine", "hot_list_mine_new"), ("page2", "hot_list_page20"),
                        ("lead", "lead_page")):  # fmt: skip
        results.append(
            Result.measured(f"sales.{label}_p50", med(loads[name], "p50_ms"), "ms", "/healthz p50", base, note)
        )
        p99 = med(loads[name], "p99_ms")
        results.append(Result.measured(f"sales.{label}_p99", p99, "ms", "/healthz p99", base_p99, note))
    rps = med(loads["list"], "rps")
    results.append(Result.measured("sales.hot_list_rps", rps, "req/s", "/healthz", med(loads["healthz"], "rps"), note))
    return results
