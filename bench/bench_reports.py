"""Reports: one campaign's report over 10M activities against a plain COUNT(*) of its rows; the KPI page."""

import json
import subprocess
import sys
import time

from bench import reports_data, services
from bench.context import POSTGRES_ADMIN_URL, Context
from bench.core import Result

REPORT_TARGET_MS = 50
KPI_TARGET_MS = 300
RUNS = 5
MEASURED_CAMPAIGN = 30  # a campaign to half the leads, like every other one


def run(ctx: Context) -> list[Result]:
    rows, leads, campaigns = ctx.pick(10_000_000, 500_000), ctx.pick(100_000, 5_000), ctx.pick(60, 30)
    work = ctx.workdir("reports")
    env = ctx.production_env()
    with services.bench_database(POSTGRES_ADMIN_URL, migrate_env=env, cwd=ctx.root, log=work / "migrate.log") as url:
        env = {**env, "DATABASE_URL": url}
        with services.require_postgres(url) as conn:
            generated = reports_data.generate(conn, leads=leads, campaigns=campaigns, activities=rows)
        t0 = time.perf_counter()
        services.run_logged([sys.executable, "manage.py", "rebuild_report_counts"], env=env, cwd=ctx.root,
                            log=work / "rebuild.log", what="rebuild_report_counts", timeout=900)  # fmt: skip
        rebuild_s = time.perf_counter() - t0
        argv = [sys.executable, "-m", "bench.reports_probe", str(MEASURED_CAMPAIGN), str(RUNS)]
        probe = subprocess.run(argv, env=env, cwd=ctx.root, capture_output=True, text=True, timeout=600, check=False)
        if probe.returncode:
            raise RuntimeError(f"reports_probe failed: {probe.stderr.strip().splitlines()[-3:]}")
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    if not found["exact"]:
        raise RuntimeError(f"the report disagrees with the activity table: {found['truth']}")
    return rows_of(found, generated, rebuild_s)


def rows_of(found: dict, generated: dict, rebuild_s: float) -> list[Result]:
    total = f"{generated['rows']:,} activities, campaign of {found['rows']:,} rows, median of {RUNS}"
    count = "COUNT(*) of the campaign's rows"
    return [
        Result.measured("reports.campaign_ms", found["report_ms"], "ms", count, found["count_ms"],
                        note=f"target < {REPORT_TARGET_MS} ms; {total}"),
        Result.measured("reports.campaign_backlog_ms", found["backlog_report_ms"], "ms", count, found["count_ms"],
                        note="with 1,000 events not yet processed; exact against the activity table"),
        Result.measured("reports.campaign_with_pipeline_ms", found["pipeline_ms"], "ms", count, found["count_ms"],
                        note="the same plus the opportunity rate and attribution (sales tables)"),
        Result.measured("reports.campaign_api_ms", found["api_ms"], "ms", count, found["count_ms"],
                        note="GET /api/v1/reports/campaigns/<id>/ in-process, JSON included"),
        Result.measured("reports.kpis_ms", found["kpis_ms"], "ms", "COUNT(*) of leads", found["leads_count_ms"],
                        note=f"target < {KPI_TARGET_MS} ms; the whole page, 6 months"),
        Result.measured("reports.generate_s", generated["generate_s"], "s", "rebuild_report_counts", rebuild_s,
                        note="set-based generation; the rollup rebuilt from scratch afterwards"),
    ]  # fmt: skip
