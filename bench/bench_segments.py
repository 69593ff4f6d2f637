"""Segments: a three-condition count (one behavioural) over 1,000,000 leads, and an audience, against a bare count(*).

The data is generated inside PostgreSQL (INSERT … SELECT generate_series): leads
with a skewed stage and title mix, and activities over the last 180 days (sends,
opens, clicks with a share flagged as machine traffic, page views, form posts).
A Django process then times, median of 5 after one warm-up run each:
- the segment "stage in (lead, mql) AND title contains 部長 AND clicked campaign 7
  in the last 30 days" counted the way the admin's live count and the API count it;
- audience(lists=[100,000-member list], segments=[that segment], exclude_lists=[a
  10,000-member suppression list]).count(), the recipients query of a broadcast;
- "stage in (lead, mql) AND visited a URL starting with /pricing in the last 30 days";
- the baseline, SELECT count(*) FROM leads_lead, in the same process and run.
Target: the segment count under 1 s for 1,000,000 leads.
"""

import json
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import psycopg

from bench import services
from bench.context import POSTGRES_ADMIN_URL, Context
from bench.core import Result

TARGET_MS = 1000
TARGET_LEADS = 1_000_000
RUNS = 5
CAMPAIGN = 7
VISITED = {
    "match": "all",
    "conditions": [
        {"field": "stage", "op": "in", "value": ["lead", "mql"]},
        {"field": "visited", "op": "prefix", "value": "https://www.example.co.jp/pricing", "days": 30},
    ],
}
DEFINITION = {
    "match": "all",
    "conditions": [
        {"field": "stage", "op": "in", "value": ["lead", "mql"]},
        {"field": "title", "op": "contains", "value": "部長"},
        {"field": "clicked", "op": "did", "value": CAMPAIGN, "days": 30},
    ],
}

# Stages by share (lead and mql are half of them), titles (部長 about one in eight).
LEADS_SQL = """
INSERT INTO leads_lead (email, email_key, last_name, first_name, last_name_kana, first_name_kana, company_name,
    department, title, phone, phone_key, source, stage, email_status, consent, score, fit_score, custom,
    first_touch, last_touch, created_at, updated_at, last_activity_at)
SELECT 'user' || i || '@company' || (i / 40) || '.example.jp', 'user' || i || '@company' || (i / 40) || '.example.jp',
    '佐藤', '太郎', 'さとう', 'たろう', '株式会社サンプル' || (i / 40), '営業部',
    (ARRAY['営業部長', '部長', '課長', '主任', 'マネージャー', '担当', '', '', '技術部長', 'Manager',
           '担当者', '係長', '', '', '', ''])[1 + i %% 16],
    '', '', 'bench',
    (ARRAY['subscriber', 'lead', 'lead', 'lead', 'mql', 'sql', 'opportunity', 'customer'])[1 + (i / 16) %% 8],
    'ok', true, (i * 13) %% 100, (i * 7) %% 50, '{}', '{}', '{}',
    now() - make_interval(days => i %% 365), now() - make_interval(days => i %% 365), NULL
FROM generate_series(1, %(leads)s) AS i
"""

# Per lead (about 5.4 on average): three sends, opens for half the leads, clicks for 30%, a tenth of opens
# and clicks by machines, one or two page views, a form post for 5%. Times spread over 180 days.
ACTIVITIES_SQL = """
INSERT INTO leads_activity (lead_id, visitor_id, kind, occurred_at, url, campaign_id, form_id, data, processed_at)
SELECT lead.id, '', event.kind, now() - make_interval(secs => ((lead.id * 7919 + event.n * 104729) % 15552000)),
    CASE WHEN event.kind = 'page_view' THEN 'https://www.example.co.jp/' ||
        (ARRAY['pricing/', 'blog/ma/', 'case-studies/a/', 'products/crm/', 'docs/api/'])[1 + (lead.id + event.n) % 5]
        ELSE '' END,
    CASE WHEN event.kind LIKE 'email_%' THEN 1 + (lead.id / 7 + event.n) % 30 END,
    CASE WHEN event.kind = 'form_submit' THEN 1 + lead.id % 6 END,
    CASE WHEN event.kind IN ('email_opened', 'email_clicked') AND (lead.id + event.n) % 10 = 0
        THEN '{"machine": true}'::jsonb ELSE '{}'::jsonb END,
    now()
FROM leads_lead AS lead
CROSS JOIN LATERAL (
    SELECT n, CASE
        WHEN n <= 3 THEN 'email_sent'
        WHEN n = 4 AND lead.id % 3 = 0 THEN 'email_opened'
        WHEN n = 5 AND lead.id % 5 = 0 THEN 'email_opened'
        WHEN n = 6 AND lead.id % 10 < 3 THEN 'email_clicked'
        WHEN n = 7 OR (n = 8 AND lead.id % 2 = 0) THEN 'page_view'
        WHEN n = 9 AND lead.id % 20 = 0 THEN 'form_submit'
        ELSE NULL END AS kind
    FROM generate_series(1, 9) AS n
) AS event
WHERE event.kind IS NOT NULL
"""


def run(ctx: Context) -> list[Result]:
    leads = ctx.pick(TARGET_LEADS, 50_000)
    work = ctx.workdir("segments")
    env = ctx.production_env()
    with services.bench_database(POSTGRES_ADMIN_URL, migrate_env=env, cwd=ctx.root, log=work / "migrate.log") as url:
        generated = generate(url, leads=leads)
        measured = helper(ctx, {**env, "DATABASE_URL": url}, work / "count.log")
    return rows(measured, generated)


def generate(url: str, *, leads: int) -> dict:
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True, options="-c statement_timeout=1200000") as conn:
        with suppress(psycopg.errors.InsufficientPrivilege):
            # The generated ids exist: skip the per-row foreign-key triggers (superuser only).
            conn.execute("SET session_replication_role = replica")
        conn.execute(LEADS_SQL, {"leads": leads})
        conn.execute(ACTIVITIES_SQL)
        conn.execute("RESET session_replication_role")
        conn.execute("VACUUM ANALYZE leads_lead")
        conn.execute("VACUUM ANALYZE leads_activity")
        activities = conn.execute("SELECT count(*) FROM leads_activity").fetchone()[0]
    return {"leads": leads, "activities": activities, "generate_s": time.perf_counter() - t0}


def helper(ctx: Context, env: dict[str, str], log: Path) -> dict:
    """Time the counts in a Django process; its JSON answer is the last line it prints, EXPLAINs go to the log."""
    with open(log, "wb") as err:
        done = subprocess.run(
            [sys.executable, "-m", "bench.bench_segments"], env=env, cwd=ctx.root, stdout=subprocess.PIPE,
            stderr=err, timeout=1800, check=False,
        )  # fmt: skip
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench_segments exited with {done.returncode}: {services.tail(log)}")
    return json.loads(lines[-1])


def rows(measured: dict, generated: dict) -> list[Result]:
    leads, activities = generated["leads"], generated["activities"]
    baseline_ms = measured["baseline_ms"]
    verdict = ""
    if leads >= TARGET_LEADS:
        verdict = f"; target < {TARGET_MS} ms {'met' if measured['segment_ms'] < TARGET_MS else 'MISSED'}"
    size = f"{leads:,} leads, {activities:,} activities"
    return [
        Result.measured(
            "segments.count_ms", measured["segment_ms"], "ms", "count(*) leads", baseline_ms,
            f"{size}; stage, title contains, clicked in 30 days: {measured['segment_count']:,} leads{verdict}",
        ),
        Result.measured(
            "segments.visited_ms", measured["visited_ms"], "ms", "count(*) leads", baseline_ms,
            f"stage, visited /pricing in 30 days: {measured['visited_count']:,} leads",
        ),
        Result.measured(
            "segments.audience_ms", measured["audience_ms"], "ms", "count(*) leads", baseline_ms,
            f"list of {measured['list_size']:,} + that segment - suppression of {measured['suppressed']:,}: "
            f"{measured['audience_count']:,} leads",
        ),
    ]  # fmt: skip


# --- inside the Django process (python -m bench.bench_segments) ------------------------------------------------


def timed_ms(fn) -> tuple[float, object]:
    """Median ms of RUNS calls after one warm-up call, and the last answer."""
    answer = fn()
    samples = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        answer = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), answer


def make_lists() -> tuple[int, int]:
    from django.db import connection

    from leads.models import LeadList

    broadcast = LeadList.objects.create(name="bench newsletter")
    suppression = LeadList.objects.create(name="bench suppression", kind=LeadList.Kind.SUPPRESSION)
    with connection.cursor() as cursor:
        for lead_list, step in ((broadcast, 10), (suppression, 100)):
            cursor.execute(
                "INSERT INTO leads_listmembership (lead_list_id, lead_id, added_at, source) "
                "SELECT %s, id, now(), 'import' FROM leads_lead WHERE id %% %s = 0",
                [lead_list.pk, step],
            )
        cursor.execute("ANALYZE leads_listmembership")
    return broadcast.pk, suppression.pk


def count_main() -> dict:
    from django.db import connection

    from leads.models import ListMembership, Segment
    from leads.segments import audience, count_definition, segment_members

    segment = Segment.objects.create(name="bench", match=DEFINITION["match"], conditions=DEFINITION["conditions"])
    broadcast, suppression = make_lists()

    def baseline() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM leads_lead")
            return cursor.fetchone()[0]

    recipients = audience(lists=[broadcast], segments=[segment.pk], exclude_lists=[suppression])
    baseline_ms, _total = timed_ms(baseline)
    segment_ms, segment_count = timed_ms(lambda: segment_members(segment).count())
    visited_ms, visited_count = timed_ms(lambda: count_definition(VISITED))
    audience_ms, audience_count = timed_ms(recipients.count)
    print(segment_members(segment).explain(analyze=True), file=sys.stderr)
    print(recipients.explain(analyze=True), file=sys.stderr)
    sizes = {pk: ListMembership.objects.filter(lead_list_id=pk).count() for pk in (broadcast, suppression)}
    return {"baseline_ms": baseline_ms, "segment_ms": segment_ms, "segment_count": segment_count,
            "visited_ms": visited_ms, "visited_count": visited_count,
            "audience_ms": audience_ms, "audience_count": audience_count, "list_size": sizes[broadcast],
            "suppressed": sizes[suppression]}  # fmt: skip


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
    django.setup()
    print(json.dumps(count_main()))


if __name__ == "__main__":
    main()
