"""Email open pixel and click redirect on gunicorn, against a bare Django view returning the same GIF.

Every request is a different message (its own send, hence its own activity row)
signed with the server's key, sent ten minutes ago so the hits count as a
person's. Load comes from wrk with a Lua script walking a list of paths (each
wrk thread its own share, none used twice); the bare view is loaded the same
way. Afterwards the rows are counted: every 200/302 answered must be one row.
"""

import http.client
import shutil
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import redis

from bench import httpload, services
from bench.bench_forms import wait_ready
from bench.context import Context
from bench.core import Result, Skip

CONNECTIONS, THREADS = 4, 2  # two per gunicorn worker, as bench_http
HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "User-Agent": "Mozilla/5.0 (X11; Linux) Chrome/124.0"}
PATHS_PER_SECOND = 2500  # more than a hit rate this machine reaches, so a round never runs out of messages
DOMAIN = "bench-track.example"

BARE_MODULE = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
from django.conf import settings
settings.ROOT_URLCONF = "bench_tracking_bare"
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache
from leads.views import PIXEL


@never_cache
def gif(request):
    return HttpResponse(PIXEL, content_type="image/gif")


urlpatterns = [path("bare.gif", gif), path("", include("mautomation.urls"))]
"""

# Walks the paths file: thread k of n takes lines k, k+n, k+2n…; past the end it asks for a 404, counted as an error.
LUA = """
local counter = 1
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  paths, n, i = {}, tonumber(args[2]), 0
  local k = 0
  for line in io.lines(args[1]) do
    if k % n == id - 1 then table.insert(paths, line) end
    k = k + 1
  end
end
function request()
  i = i + 1
  return wrk.format("GET", paths[i] or "/e/o/exhausted")
end
"""

SETUP_SCRIPT = """
import time
from campaigns import tracking
from campaigns.models import Campaign, Send
from leads.models import Lead
from mautomation.lib import signing
campaign = Campaign.objects.create(name={tag!r})
leads = Lead.objects.bulk_create(
    [Lead(email=f"{tag}-{{i}}@{domain}", email_key=f"{tag}-{{i}}@{domain}", consent=True) for i in range({count})]
)
sends = Send.objects.bulk_create(
    [Send(source={tag!r}, campaign=campaign, lead=lead, email=lead.email, status="sent") for lead in leads]
)
past = int(time.time()) - signing.EPOCH - 600
signing.now_field = lambda: signing.to36(past)
prepared = tracking.prepare('<html><body><a href="https://www.example.co.jp/whitepaper?id=7">DL</a></body></html>')
with open({out!r}, "w") as out:
    for send in sends:
        html = tracking.personalize(prepared, send_id=send.pk, utm={{"utm_source": "mautomation"}})
        click = html.split('href="', 1)[1].split('"', 1)[0].split("/e/c/", 1)[1]
        pixel = html.split('<img src="', 1)[1].split('"', 1)[0].split("/e/o/", 1)[1]
        out.write(f"/e/o/{{pixel}} /e/c/{{click}}\\n")
print(campaign.pk)
"""

CLEANUP_SCRIPT = """
from campaigns.models import Campaign
from leads.models import Activity, Lead
campaign = Campaign.objects.filter(name={tag!r}).first()
if campaign:
    Activity.objects.filter(campaign_id=campaign.pk).delete()
    campaign.delete()
Lead.objects.filter(email_key__endswith="@{domain}").delete()
"""


def run(ctx: Context) -> list[Result]:
    if not shutil.which("wrk"):
        raise Skip("wrk is not installed (apt-get install wrk)")
    r = services.require_redis(ctx.redis_url)
    prefix = f"bench-track-{uuid.uuid4().hex[:10]}"
    workdir = ctx.workdir("tracking")
    (workdir / "bench_tracking_bare.py").write_text(BARE_MODULE)
    (workdir / "walk.lua").write_text(LUA)
    env = ctx.production_env(CACHE_KEY_PREFIX=prefix, CELERY_QUEUE=prefix, PYTHONPATH=str(workdir))
    rounds, seconds = ctx.pick(3, 1), ctx.pick(5, 2)
    try:
        campaign_id, files = create_sends(ctx, env, workdir, tag=prefix, rounds=rounds, seconds=seconds)
        return measure(ctx, env, workdir, campaign_id=campaign_id, files=files, seconds=seconds)
    finally:
        cleanup(ctx, env, workdir, r, prefix)


def create_sends(
    ctx: Context, env: dict[str, str], workdir: Path, *, tag: str, rounds: int, seconds: int
) -> tuple[int, list[tuple[Path, Path]]]:
    """One send per request, signed by the server's key; per round a file of open paths and one of click paths."""
    per_round = PATHS_PER_SECOND * seconds
    out, log = workdir / "paths.txt", workdir / "setup.log"
    code = SETUP_SCRIPT.format(tag=tag, domain=DOMAIN, count=per_round * rounds + 50, out=str(out))
    services.run_logged([sys.executable, "manage.py", "shell", "-c", code], env=env, cwd=ctx.root, log=log,
                        what="create the sends")  # fmt: skip
    lines = out.read_text().splitlines()
    files = [(workdir / "warm-open.txt", workdir / "warm-click.txt")]
    files += [(workdir / f"open-{n}.txt", workdir / f"click-{n}.txt") for n in range(rounds)]
    chunks = [lines[:50]] + [lines[50 + n * per_round : 50 + (n + 1) * per_round] for n in range(rounds)]
    for (opens, clicks), chunk in zip(files, chunks, strict=True):
        opens.write_text("\n".join(line.split()[0] for line in chunk) + "\n")
        clicks.write_text("\n".join(line.split()[1] for line in chunk) + "\n")
    return int(log.read_text().split()[-1]), files


def measure(
    ctx: Context, env: dict[str, str], workdir: Path, *, campaign_id: int, files: list[tuple[Path, Path]], seconds: int
) -> list[Result]:
    port, log = services.free_port(), workdir / "gunicorn.log"
    argv = services.gunicorn_argv("bench_tracking_bare:application", port)
    loads: dict[str, list[httpload.Load]] = {"bare": [], "open": [], "click": []}
    with services.process(argv, env=env, cwd=ctx.root, log=log) as server:
        wait_ready(port, server, log)
        (warm_open, warm_click), *measured = files
        warm = [visit(port, warm_open), visit(port, warm_click)]  # each worker's first hits pay for lazy imports
        for opens, clicks in measured:  # interleaved, so a burst of noise on the machine hits all alike
            loads["bare"].append(wrk(port, "/bare.gif", seconds=seconds))
            loads["open"].append(walk(port, opens, seconds=seconds))
            loads["click"].append(walk(port, clicks, seconds=seconds))
    check_nothing_lost(ctx, campaign_id=campaign_id, loads=loads, warm=warm)
    return results(loads)


def visit(port: int, paths: Path) -> int:
    """GET each path in turn; returns how many answered 200 or 302."""
    answered = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for path in paths.read_text().split():
            conn.request("GET", path, headers=HEADERS)
            response = conn.getresponse()
            response.read()
            answered += response.status in (200, 302)
    finally:
        conn.close()
    return answered


def walk(port: int, paths: Path, *, seconds: int) -> httpload.Load:
    return wrk(port, "/", seconds=seconds, script=["-s", str(paths.parent / "walk.lua")], args=[str(paths), THREADS])


def wrk(port: int, path: str, *, seconds: int, script: list[str] = (), args: list = ()) -> httpload.Load:
    argv = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", *script]
    for name, value in HEADERS.items():
        argv += ["-H", f"{name}: {value}"]
    argv += [f"http://127.0.0.1:{port}{path}"] + (["--", *map(str, args)] if args else [])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    load = httpload.parse_wrk(out)
    if load.errors or not load.requests:
        raise RuntimeError(f"{load.errors} errors, {load.requests} answers loading {path}: {out[-500:]}")
    return load


def check_nothing_lost(
    ctx: Context, *, campaign_id: int, loads: dict[str, list[httpload.Load]], warm: list[int]
) -> None:
    """Every open answered 200 and every click answered 302 is one activity row of the bench campaign."""
    query = "SELECT kind, count(*) FROM leads_activity WHERE campaign_id = %s GROUP BY kind"
    with psycopg.connect(ctx.database_url()) as db:
        rows = dict(db.execute(query, [campaign_id]).fetchall())
    expected = {
        "email_opened": sum(x.requests for x in loads["open"]) + warm[0],
        "email_clicked": sum(x.requests for x in loads["click"]) + warm[1],
    }
    # wrk stops counting at its deadline while the server finishes the requests in flight: up to one per connection.
    slack = CONNECTIONS * len(loads["open"])
    if any(not expected[kind] <= rows.get(kind, 0) <= expected[kind] + slack for kind in expected):
        raise RuntimeError(f"recorded {rows} for answered {expected}")


def results(loads: dict[str, list[httpload.Load]]) -> list[Result]:
    def med(name: str, attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in loads[name])

    rounds, bare = len(loads["bare"]), "bare Django view, same GIF"
    note = f"gunicorn sync x2, wrk {CONNECTIONS} conns, median of {rounds}, every answer a stored row"
    return [
        Result.measured("tracking.open_rps", med("open", "rps"), "hits/s", bare, med("bare", "rps"), note),
        Result.measured("tracking.click_rps", med("click", "rps"), "hits/s", bare, med("bare", "rps"), note),
        Result.measured("tracking.open_p99", med("open", "p99_ms"), "ms", f"{bare} p99", med("bare", "p99_ms"), note),
        Result.measured("tracking.click_p99", med("click", "p99_ms"), "ms", f"{bare} p99", med("bare", "p99_ms"), note),
    ]


def cleanup(ctx: Context, env: dict[str, str], workdir: Path, r: redis.Redis, prefix: str) -> None:
    """Leave the shared run database and Redis as they were: other benchmarks use them after us."""
    try:
        argv = [sys.executable, "manage.py", "shell", "-c", CLEANUP_SCRIPT.format(tag=prefix, domain=DOMAIN)]
        services.run_logged(argv, env=env, cwd=ctx.root, log=workdir / "cleanup.log", what="cleanup")
    except Exception as exc:  # the database is dropped at the end of the run anyway
        print(f"bench: tracking could not delete its rows ({services.first_line(exc)})", file=sys.stderr)
    try:
        keys = list(r.scan_iter(match=f"{prefix}:*", count=1000)) + [prefix, f"_kombu.binding.{prefix}"]
        for start in range(0, len(keys), 500):
            r.delete(*keys[start : start + 500])
    except redis.RedisError as exc:
        print(f"bench: could not clean up Redis ({services.first_line(exc)})", file=sys.stderr)
