"""The SQLite rescore: one INSERT … SELECT per active rule, then every cached score.

The unique (lead, rule, window) index keeps only the first event of each
frequency window (the SELECT is in event order). URL matching and the machine
flag are the Python functions of scoring.rules themselves, registered with each
SQLite connection (scoring.apps), so a rescore agrees with event-by-event
scoring even on odd URLs and flags. PostgreSQL uses scoring.rescore_pg.
"""

from collections import defaultdict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, CharField, F, Func, IntegerField, Q, Value
from django.db.models.functions import Cast, Concat, TruncDate

from leads.models import Activity, Lead
from scoring.fit import fit_score
from scoring.ledger import refresh_scores
from scoring.models import FitRule, ScoreEntry, ScoringRule

COLUMNS = ["lead_id", "kind", "rule_id", "activity_id", "window", "points", "reason", "created_at"]
RECOMPUTED = [ScoreEntry.Kind.BEHAVIOUR, ScoreEntry.Kind.EXPIRY, ScoreEntry.Kind.DECAY]


def rebuild(*, exclude_opens: bool) -> tuple[int, int]:
    """Replace every rule-made ledger row from the activity stream; returns (rows, leads refreshed)."""
    _delete_recomputed()
    rules = ScoringRule.objects.filter(active=True)
    if exclude_opens:
        rules = rules.exclude(event_kind=Activity.Kind.EMAIL_OPENED)
    entries = sum(insert_entries(rule) for rule in rules)
    leads = refresh_scores()
    refresh_all_fit()
    return entries, leads


def _delete_recomputed() -> None:
    """One DELETE: the ORM's cascade collector would load every row of a million-row ledger first."""
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(RECOMPUTED))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(ScoreEntry._meta.db_table)} WHERE kind IN ({placeholders})", RECOMPUTED)


def insert_entries(rule: ScoringRule) -> int:
    """One INSERT … SELECT of this rule's ledger rows from the matching activities."""
    select_sql, params = _matching(rule).query.sql_with_params()
    table, quote = ScoreEntry._meta.db_table, connection.ops.quote_name
    columns = ", ".join(quote(name) for name in COLUMNS)
    sql = f"INSERT OR IGNORE INTO {quote(table)} ({columns}) {select_sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _matching(rule: ScoringRule):
    """The SELECT giving COLUMNS, earliest event first so once-rules keep the first one."""
    machine = Func(F("data"), function="scoring_is_machine", output_field=BooleanField())
    url = Func(Value(rule.url_match), Value(rule.url_pattern), F("url"), function="scoring_url_matches",
               output_field=BooleanField())  # fmt: skip
    rows = Activity.objects.alias(machine=machine, url_ok=url).filter(conditions(rule), machine=False, url_ok=True)
    rows = rows.order_by("occurred_at", "pk")
    rows = rows.annotate(
        s_lead=F("lead_id"),
        s_kind=Value(ScoreEntry.Kind.BEHAVIOUR.value, output_field=CharField()),
        s_rule=Value(rule.pk, output_field=IntegerField()),
        s_activity=F("pk"),
        s_window=window_expression(rule),
        s_points=Value(rule.points, output_field=IntegerField()),
        s_reason=Value(rule.name[:300], output_field=CharField()),
        s_created=F("occurred_at"),
    )
    return rows.values_list("s_lead", "s_kind", "s_rule", "s_activity", "s_window", "s_points", "s_reason", "s_created")


def conditions(rule: ScoringRule) -> Q:
    """The SQL form of scoring.rules.rule_matches, but for the URL (scoring_url_matches is that function)."""
    query = Q(kind=rule.event_kind, lead__isnull=False)
    if rule.form_id:
        query &= Q(form_id=rule.form_id)
    if rule.campaign_id:
        query &= Q(campaign_id=rule.campaign_id)
    if rule.event_name:
        query &= Q(data__name=rule.event_name)
    return query


def window_expression(rule: ScoringRule):
    """The SQL form of scoring.rules.window."""
    if rule.frequency == ScoringRule.Frequency.ONCE:
        return Value("once", output_field=CharField())
    if rule.frequency == ScoringRule.Frequency.DAILY:
        local_day = TruncDate("occurred_at", tzinfo=ZoneInfo(settings.TIME_ZONE))
        return Cast(local_day, output_field=CharField())
    return Concat(Value("a"), Cast("pk", output_field=CharField()), output_field=CharField())


def refresh_all_fit(batch: int = 2000) -> int:
    """Recompute every lead's fit score; one UPDATE per distinct new score in each chunk."""
    rules = list(FitRule.objects.filter(active=True))
    fields = ["email", "title", "department", "fit_score", "company", "company__industry", "company__employees"]
    leads = Lead.objects.select_related("company").only(*fields).order_by("pk")
    changed, after = 0, 0
    while chunk := list(leads.filter(pk__gt=after)[:batch]):
        stale: dict[int, list[int]] = defaultdict(list)
        for lead in chunk:
            score = fit_score(rules, lead)
            if score != lead.fit_score:
                stale[score].append(lead.pk)
        for score, pks in stale.items():
            Lead.objects.filter(pk__in=pks).update(fit_score=score)
        changed, after = changed + sum(map(len, stale.values())), chunk[-1].pk
    return changed
