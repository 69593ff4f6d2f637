"""Generated data for bench_reports: leads, campaigns and 10,000,000 activities, written set-based.

Every row comes from generate_series inside PostgreSQL (no rows cross the wire), with a
hash of (campaign, lead) as each recipient's deterministic "dice": 2 % bounce, about 20 %
open (plus 3 % machine opens), 2 % click (plus 1 % scanner clicks), 0.4 % convert within
an hour of their click, 0.2 % unsubscribe. Opens repeat up to 3 times, clicks twice.
"""

import time

import psycopg

SQL_LEADS = """
INSERT INTO leads_lead (email, email_key, last_name, first_name, last_name_kana, first_name_kana, company_name,
  department, title, phone, phone_key, source, stage, email_status, consent, score, fit_score, custom,
  first_touch, last_touch, created_at, updated_at)
SELECT 'user' || i || '@example.jp', 'user' || i || '@example.jp', '佐藤', '太郎', '', '', 'サンプル株式会社',
  '', '', '', '', (ARRAY['web', 'seminar', 'import', 'ads'])[1 + i %% 4],
  (ARRAY['subscriber', 'lead', 'lead', 'lead', 'mql', 'sql', 'opportunity', 'customer'])[1 + i %% 8],
  'ok', true, 0, 0, '{}', '{}', '{}', %(start)s + (i %% 180) * interval '1 day', now()
FROM generate_series(1, %(leads)s) AS i
"""
SQL_CAMPAIGNS = """
INSERT INTO campaigns_campaign (name, content_type, status, recipients, sent_count, failed_count, utm_campaign,
  paused_reason, created_at, started_at)
SELECT 'bench ' || c, (ARRAY['whitepaper', 'seminar', 'service_intro', 'other'])[1 + c %% 4], 'sent', 0, 0, 0, '', '',
  %(start)s + c * interval '2 days', %(start)s + c * interval '2 days'
FROM generate_series(1, %(campaigns)s) AS c
"""
# One row per (campaign, recipient): half of the leads receive each campaign.
RECIPIENTS = """
WITH recipients AS (
  SELECT c.id AS campaign_id, l.id AS lead_id, c.created_at AS sent_at,
         abs(hashtext(c.id || ':' || l.id)) %% 10000 AS dice
  FROM campaigns_campaign c JOIN leads_lead l ON (l.id + c.id) %% 2 = 0
)
"""
EMAIL_ROWS = """
SELECT lead_id, kind, sent_at + (step || ' hours')::interval + (dice %% 60) * interval '1 minute', campaign_id, data
FROM recipients, LATERAL (VALUES
  ('email_sent', 0, 1, '{}'::jsonb, true),
  ('email_bounced', 0, 1, '{}', dice < 200),
  ('email_delivered', 0, 1, '{}', dice >= 200),
  ('email_opened', 2, 1 + dice %% 3, '{}', dice >= 200 AND dice < 2240),
  ('email_opened', 0, 1, '{"machine": true}', dice >= 2240 AND dice < 2540),
  ('email_clicked', 3, 1 + dice %% 2, '{}', dice >= 200 AND dice < 400),
  ('email_clicked', 0, 1, '{"machine": true}', dice >= 2240 AND dice < 2340),
  ('unsubscribed', 4, 1, '{}', dice >= 400 AND dice < 420)
) AS e(kind, step, times, data, happens), generate_series(1, times) AS n
WHERE happens
"""
CONVERSION_ROWS = """
SELECT lead_id, (ARRAY['form_submit', 'download'])[1 + dice %% 2], sent_at + interval '4 hours', NULL::bigint,
  '{}'::jsonb
FROM recipients WHERE dice >= 200 AND dice < 240
"""
SQL_ACTIVITIES = (
    "INSERT INTO leads_activity (lead_id, kind, occurred_at, campaign_id, data, visitor_id, url, processed_at) "
    "SELECT *, '', '', now() FROM (" + RECIPIENTS + EMAIL_ROWS + " UNION ALL " + CONVERSION_ROWS + ") AS rows"
)
SQL_PAGE_VIEWS = """
INSERT INTO leads_activity (lead_id, kind, occurred_at, campaign_id, data, visitor_id, url, processed_at)
SELECT %(first)s + i %% %(leads)s, 'page_view', %(start)s + (i %% 15552000) * interval '1 second', NULL, '{}',
  '', 'https://www.example.co.jp/p/' || i %% 500, now()
FROM generate_series(1, %(views)s) AS i
"""


SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads_activity'
AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'leads_activity'::regclass)
"""


def generate(conn: psycopg.Connection, *, leads: int, campaigns: int, activities: int) -> dict[str, float]:
    """Fill an empty, migrated database; the page views top the activities up to `activities` rows.

    The activity table's secondary indexes are dropped during the load and rebuilt after it (faster
    than maintaining them row by row), and foreign keys are not checked: the ids are generated.
    """
    t0 = time.perf_counter()
    start = conn.execute("SELECT date_trunc('day', now()) - interval '180 days'").fetchone()[0]
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET maintenance_work_mem = '512MB'")
    indexes = conn.execute(SECONDARY_INDEXES).fetchall()
    for name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute(SQL_LEADS, {"leads": leads, "start": start})
    conn.execute(SQL_CAMPAIGNS, {"campaigns": campaigns, "start": start})
    conn.execute(SQL_ACTIVITIES, {})
    emails = conn.execute("SELECT count(*) FROM leads_activity").fetchone()[0]
    first = conn.execute("SELECT min(id) FROM leads_lead").fetchone()[0]
    views = max(activities - emails, 0)
    conn.execute(SQL_PAGE_VIEWS, {"first": first, "leads": leads, "start": start, "views": views})
    for _name, definition in indexes:
        conn.execute(definition)
    conn.execute("RESET session_replication_role")
    conn.execute("VACUUM ANALYZE leads_activity")
    conn.execute("VACUUM ANALYZE leads_lead")
    return {"generate_s": time.perf_counter() - t0, "rows": emails + views}
