"""Run by bench_reports in a Django process on the generated database: times the reports, prints JSON.

python -m bench.reports_probe CAMPAIGN_ID RUNS
"""

import json
import os
import statistics
import sys
import time
from datetime import timedelta


def timed(runs: int, call) -> float:
    """Median milliseconds of `runs` calls, after one unmeasured call (connection, caches, plans)."""
    call()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def plain_count(campaign_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_activity WHERE campaign_id = %s", [campaign_id])
        return cursor.fetchone()[0]


def direct_counts(campaign_id: int) -> dict[str, int]:
    """The truth, the slow way: every event of the campaign read from the activity table."""
    from django.db import connection

    sql = """SELECT count(*) FILTER (WHERE kind = 'email_sent'), count(DISTINCT lead_id) FILTER (WHERE kind =
      'email_opened'), count(*) FILTER (WHERE kind = 'email_opened') FROM leads_activity WHERE campaign_id = %s
      AND coalesce(data->>'machine', '') <> 'true'"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign_id])
        sent, opens, opens_total = cursor.fetchone()
    return {"sent": sent, "opens": opens, "opens_total": opens_total}


def add_backlog(campaign_id: int, count: int) -> None:
    """Events that arrive after the rollup: unprocessed opens, half by leads who already opened."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_activity (lead_id, kind, occurred_at, campaign_id, data, visitor_id, url)"
            " SELECT lead_id, 'email_opened', now(), campaign_id, '{}', '', '' FROM leads_activity"
            " WHERE campaign_id = %s AND kind = 'email_sent' ORDER BY lead_id LIMIT %s",
            [campaign_id, count],
        )


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
    django.setup()
    from django.conf import settings

    # Pages render static URLs; this process never ran collectstatic, and serving files is not measured.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # fmt: skip
    from django.contrib.auth import get_user_model
    from django.test import Client

    from leads.models import Lead
    from reports import campaign_report, funnel
    from reports.funnel import Scope

    campaign_id, runs = int(sys.argv[1]), int(sys.argv[2])
    options = {"denominators": {}, "include_machine": False, "window": timedelta(days=7),
               "opportunity_window": timedelta(days=90)}  # fmt: skip

    def report():
        """The report the issue times: every count, unique and total, and the rates beside the references."""
        counts = funnel.counts(scope=Scope.campaign(campaign_id), window=options["window"])
        return counts, campaign_report.rates_for(counts, content_type="seminar", denominators={})

    def with_pipeline():
        return campaign_report.build(scope=Scope.campaign(campaign_id), content_type="seminar", options=options)

    user = get_user_model().objects.create_superuser("bench-reports", "b@example.jp", "x")
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)

    def page(url: str):
        def get():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return get

    out = {
        "report_ms": timed(runs, report),
        "pipeline_ms": timed(runs, with_pipeline),
        "count_ms": timed(runs, lambda: plain_count(campaign_id)),
        "api_ms": timed(runs, page(f"/api/v1/reports/campaigns/{campaign_id}/")),
        "kpis_ms": timed(runs, page("/admin/reports/kpis/")),
        "leads_count_ms": timed(runs, Lead.objects.count),
        "rows": plain_count(campaign_id),
    }  # fmt: skip
    add_backlog(campaign_id, 1000)
    out["backlog_report_ms"] = timed(runs, report)
    got, truth = report()[0], direct_counts(campaign_id)
    out["exact"] = {name: getattr(got, name) for name in truth} == truth
    out["truth"] = truth
    print(json.dumps(out))


if __name__ == "__main__":
    main()
