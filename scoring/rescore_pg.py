"""The PostgreSQL rescore: one pass over the stream joined to the rules, diffed into the ledger.

Every active rule is evaluated in one scan of the activities (a join with the
rules table, each rule's conditions written as SQL over its columns), the first
event of each (lead, rule, window) kept with DISTINCT ON, into a temporary
table. The ledger is then changed only where it differs: rows no longer produced
are deleted, changed rows updated, missing rows inserted. A rescore after a
small rule change therefore writes little, and the first one only inserts.
Finally one UPDATE sets every lead's cached score and fit score that changed.

SQLite keeps the simpler per-rule statements of scoring.rescore_sqlite.
"""

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from leads.models import Activity, Company, Lead
from scoring.fit import matching_keys
from scoring.models import FitRule, ScoreEntry, ScoringRule

ENTRY, LEAD, ACTIVITY, RULE, COMPANY = (
    model._meta.db_table for model in (ScoreEntry, Lead, Activity, ScoringRule, Company)
)
COLUMNS = 'lead_id, kind, rule_id, activity_id, "window", points, reason, created_at'
SAME_KEY = 'e.lead_id = w.lead_id AND e.rule_id = w.rule_id AND e."window" = w."window"'

# A rule's conditions in SQL over its own columns: the same tests as scoring.rules.rule_matches.
# `path` is what scoring.rules._path gives: the URL from the first "/" after "scheme://host".
WANTED = f"""
CREATE TEMPORARY TABLE scoring_wanted ON COMMIT DROP AS
SELECT DISTINCT ON (a.lead_id, r.id, w.win)
    a.lead_id, %(kind)s::varchar AS kind, r.id AS rule_id, a.id AS activity_id, w.win AS "window",
    r.points, left(r.name, 300) AS reason, a.occurred_at AS created_at
FROM {ACTIVITY} a
CROSS JOIN LATERAL (SELECT CASE WHEN strpos(a.url, '://') > 0
    THEN substr(a.url, strpos(a.url, '://') + 3) ELSE a.url END AS rest) u
CROSS JOIN LATERAL (SELECT CASE WHEN strpos(u.rest, '/') > 0
    THEN substr(u.rest, strpos(u.rest, '/')) ELSE '/' END AS path) p
JOIN {RULE} r ON r.active AND r.event_kind = a.kind
    AND NOT (%(exclude_opens)s AND r.event_kind = %(opened)s)
    AND (coalesce(r.form_id, 0) = 0 OR a.form_id = r.form_id)
    AND (coalesce(r.campaign_id, 0) = 0 OR a.campaign_id = r.campaign_id)
    AND (r.event_name = '' OR a.data -> 'name' = to_jsonb(r.event_name))
    AND (r.url_pattern = '' OR CASE r.url_match
        WHEN %(regex)s THEN a.url ~ r.url_pattern
        WHEN %(prefix)s THEN starts_with(a.url, r.url_pattern) OR starts_with(p.path, r.url_pattern)
        ELSE strpos(a.url, r.url_pattern) > 0 END)
CROSS JOIN LATERAL (SELECT CASE r.frequency
    WHEN %(once)s THEN 'once'
    WHEN %(daily)s THEN to_char(a.occurred_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')
    ELSE 'a' || a.id END AS win) w
WHERE a.lead_id IS NOT NULL
    -- machine opens and link scanners: any value Python finds true (false, null, 0, "", [] and {{}} are not)
    AND (a.data -> 'machine' IS NULL OR a.data -> 'machine' IN ('false', 'null', '0', '""', '[]', '{{}}'))
ORDER BY a.lead_id, r.id, w.win, a.occurred_at, a.id
"""


def rebuild(*, exclude_opens: bool) -> tuple[int, int]:
    """Bring the rule-made ledger rows in line with the stream; returns (rule rows, leads whose caches changed)."""
    with connection.cursor() as cursor:
        # Sorting and hashing a million rows in memory rather than in temporary files; this transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {ENTRY}")
        newest = cursor.fetchone()[0]
    entries = build_wanted(exclude_opens=exclude_opens)
    delete_stale(newest=newest)
    update_changed()
    insert_missing()
    return entries, refresh_caches(list(FitRule.objects.filter(active=True)))


def build_wanted(*, exclude_opens: bool) -> int:
    params = {
        "kind": ScoreEntry.Kind.BEHAVIOUR.value, "exclude_opens": exclude_opens,
        "opened": Activity.Kind.EMAIL_OPENED.value, "regex": ScoringRule.UrlMatch.REGEX.value,
        "prefix": ScoringRule.UrlMatch.PREFIX.value, "once": ScoringRule.Frequency.ONCE.value,
        "daily": ScoringRule.Frequency.DAILY.value, "tz": settings.TIME_ZONE,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS scoring_wanted")  # a second rescore in one outer transaction
        cursor.execute(WANTED, params)
        rows = cursor.rowcount
        cursor.execute("ANALYZE scoring_wanted")  # so the diff below plans hash joins
    return rows


def delete_stale(*, newest: int) -> int:
    """Expiry and decay rows are recomputed after the rebuild; rule rows go when no event gives them any more.

    Only rows that existed before the rescore began (id <= newest): an event scored
    meanwhile by a worker is not in this rescore's view of the stream, but counts.
    """
    recomputed = [ScoreEntry.Kind.EXPIRY.value, ScoreEntry.Kind.DECAY.value]
    stale = f"""DELETE FROM {ENTRY} e WHERE e.kind = %s AND e.id <= %s
        AND NOT EXISTS (SELECT 1 FROM scoring_wanted w WHERE {SAME_KEY})"""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ENTRY} WHERE kind = ANY(%s)", [recomputed])
        cursor.execute(stale, [ScoreEntry.Kind.BEHAVIOUR.value, newest])
        return cursor.rowcount


def update_changed() -> int:
    """Rows of the same (lead, rule, window) whose points, reason or first event changed (a rule was edited)."""
    sql = f"""UPDATE {ENTRY} e SET activity_id = w.activity_id, points = w.points, reason = w.reason,
            created_at = w.created_at
        FROM scoring_wanted w WHERE e.kind = w.kind AND {SAME_KEY}
            AND (e.activity_id IS DISTINCT FROM w.activity_id OR e.points <> w.points
                 OR e.reason <> w.reason OR e.created_at <> w.created_at)"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def insert_missing() -> int:
    """The rows the ledger lacks; a plain INSERT, as ON CONFLICT's speculative insertion costs ~25% more per row.

    A worker may score one of these events while the rescore runs: then the insert
    fails on the unique (lead, rule, window), and is redone skipping such rows.
    """
    sql = f"""INSERT INTO {ENTRY} ({COLUMNS}) SELECT {COLUMNS} FROM scoring_wanted w
        WHERE NOT EXISTS (SELECT 1 FROM {ENTRY} e WHERE {SAME_KEY})
        ORDER BY w.lead_id, w.rule_id, w."window" """
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint, so the retry can follow
            cursor.execute(sql)
            return cursor.rowcount
    except IntegrityError:
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ON CONFLICT DO NOTHING")
            return cursor.rowcount


# The lead fields fit rules test, as SQL over leads_lead l and leads_company c; free mail by the email's domain.
FIT_KEYS = {
    FitRule.Field.TITLE: "l.title",
    FitRule.Field.DEPARTMENT: "l.department",
    FitRule.Field.INDUSTRY: "c.industry",
    FitRule.Field.EMPLOYEES: "c.employees",
    FitRule.Field.FREE_MAIL: "CASE WHEN strpos(l.email, '@') > 0 THEN substring(l.email_key from '[^@]*$') END",
}
LEADS = f"{LEAD} l LEFT JOIN {COMPANY} c ON c.id = l.company_id"


def refresh_caches(rules: list[FitRule]) -> int:
    """One UPDATE of the score (the ledger's sum) and fit score of every lead where either changed."""
    fit, params = fit_expression(rules)
    sql = f"""UPDATE {LEAD} t SET score = n.score, fit_score = n.fit
        FROM (SELECT l.id, coalesce(s.total, 0) AS score, {fit} AS fit FROM {LEADS}
              LEFT JOIN (SELECT lead_id, sum(points) AS total FROM {ENTRY} GROUP BY lead_id) s ON s.lead_id = l.id) n
        WHERE t.id = n.id AND (t.score <> n.score OR t.fit_score <> n.fit)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def fit_expression(rules: list[FitRule]) -> tuple[str, list]:
    """The fit score as SQL: each rule adds its points where the field's value is one that rule matches.

    Which values match is decided by scoring.fit itself (NFKC folding, word lists, the
    free-mail list), over the distinct values the leads have: exact, and few evaluations.
    """
    terms, params = ["0"], []
    for rule in rules:
        key = FIT_KEYS[rule.field]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT {key} FROM {LEADS}")
            keys = matching_keys(rule, [row[0] for row in cursor.fetchall()])
        if keys:
            terms.append(f"CASE WHEN {key} = ANY(%s) THEN {int(rule.points)} ELSE 0 END")
            params.append(keys)
    return " + ".join(terms), params
