"""Keeping the report rollup (reports/models.py) exact as the activity stream processes events.

`on_activity` is a stream consumer (registered in ReportsConfig.ready()): the stream runs it
exactly once per event, in the transaction that marks the event processed, so at any moment an
event is either in the rollup or still unprocessed (reports/funnel.py adds the latter). Unique
counts go through Touch's unique constraint, so two workers counting the same lead's opens at
once still count the lead once. `rebuild` recomputes everything from the activity table, set-based.
"""

import collections
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, CharField, Count, F, Max, Q, QuerySet, Value

from leads.models import Activity
from reports.models import Conversion, Counter, Touch

COMPLAINED = "email_complained"  # a kind of our own: ESP complaints arrive as unsubscribes (campaigns/webhooks.py)
EMAIL_KINDS = ("email_sent", "email_delivered", "email_bounced", "email_opened", "email_clicked", "unsubscribed",
               COMPLAINED)  # fmt: skip
CONVERSION_KINDS = ("form_submit", "download")
# Not ~Q(data__machine=True): in SQL that is NULL, not true, for the events without the key.
HUMAN = Q(data__machine__isnull=True) | ~Q(data__machine=True)
# Sends and deliveries are counted, not deduplicated: only these kinds have unique counts.
UNIQUE_KINDS = ("email_bounced", "email_opened", "email_clicked", "unsubscribed", COMPLAINED)
COMPLAINT = Q(kind=COMPLAINED) | Q(data__reason="complained") | Q(data__complaint=True)


def attribution_window() -> timedelta:
    """The longest conversion window a report may ask for: clicks further back are not kept."""
    return timedelta(days=settings.REPORTS_MAX_CONVERSION_DAYS)


KINDS = frozenset(EMAIL_KINDS + CONVERSION_KINDS)
# Counted only (no unique count, no attribution): a batch of them is one upsert per campaign.
TALLIED_KINDS = ("email_sent", "email_delivered")


def on_activities(activities: list[Activity]) -> None:
    """The stream's batch form: a broadcast's sends and deliveries tallied per campaign, the rest one by one."""
    tally: collections.Counter[tuple[int, str, bool]] = collections.Counter()
    for activity in activities:
        if activity.kind in TALLIED_KINDS and activity.campaign_id is not None and not _complaint(activity):
            for all_events in (True,) if _machine(activity) else (True, False):
                tally[activity.campaign_id, activity.kind, all_events] += 1
        else:
            on_activity(activity)
    for (campaign_id, kind, all_events), n in tally.items():
        _add(campaign_id, kind, all_events, unique=0, n=n)


def on_activity(activity: Activity) -> None:
    if activity.campaign_id is not None and activity.kind in EMAIL_KINDS:
        count(activity)
    if activity.kind == "email_clicked" and activity.campaign_id is not None and not _machine(activity):
        attach_click(activity)
    if activity.kind in CONVERSION_KINDS:
        attach_conversion(activity)


def _machine(activity: Activity) -> bool:
    return isinstance(activity.data, dict) and activity.data.get("machine") is True


def count(activity: Activity) -> None:
    kinds = {activity.kind, COMPLAINED} if _complaint(activity) else {activity.kind}
    variants = (True,) if _machine(activity) else (True, False)
    for kind in kinds:
        for all_events in variants:
            first = kind in UNIQUE_KINDS and _touch(activity.campaign_id, activity.lead_id, kind, all_events)
            _add(activity.campaign_id, kind, all_events, unique=int(first))


def _complaint(activity: Activity) -> bool:
    data = activity.data if isinstance(activity.data, dict) else {}
    return data.get("reason") == "complained" or data.get("complaint") is True


def _touch(campaign_id: int, lead_id: int, kind: str, all_events: bool) -> bool:
    """True when this is the lead's first such event on the campaign (the row was inserted now)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reports_touch (campaign_id, lead_id, kind, all_events) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (campaign_id, kind, all_events, lead_id) DO NOTHING RETURNING 1",
            [campaign_id, lead_id, kind, all_events],
        )
        return cursor.fetchone() is not None


def _add(campaign_id: int, kind: str, all_events: bool, *, unique: int, n: int = 1) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO reports_counter (campaign_id, kind, all_events, total, "unique")'
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (campaign_id, kind, all_events)"
            " DO UPDATE SET total = reports_counter.total + excluded.total,"
            ' "unique" = reports_counter."unique" + excluded."unique"',
            [campaign_id, kind, all_events, n, unique],
        )


def attach_conversion(activity: Activity) -> None:
    """The conversion joins every campaign the lead clicked (a person, not a scanner) within the window before."""
    since = activity.occurred_at - attribution_window()
    clicks = Activity.objects.filter(lead_id=activity.lead_id, kind="email_clicked", campaign_id__isnull=False,
                                     occurred_at__range=(since, activity.occurred_at)).filter(HUMAN)  # fmt: skip
    for campaign_id, click_at in (
        clicks.values("campaign_id").annotate(last=Max("occurred_at")).values_list("campaign_id", "last")
    ):
        _attribute([activity], campaign_id=campaign_id, click_at=click_at)


def attach_click(click: Activity) -> None:
    """A click processed after the conversions it led to (workers do not keep the events' order)."""
    until = click.occurred_at + attribution_window()
    conversions = Activity.objects.filter(lead_id=click.lead_id, kind__in=CONVERSION_KINDS,
                                          occurred_at__range=(click.occurred_at, until))  # fmt: skip
    _attribute(list(conversions), campaign_id=click.campaign_id, click_at=click.occurred_at)


def _attribute(conversions: list[Activity], *, campaign_id: int, click_at) -> None:
    """Insert or move click_at later: only the latest click before a conversion decides its window."""
    rows = [Conversion(activity_id=c.pk, campaign_id=campaign_id, lead_id=c.lead_id, kind=c.kind,
                       occurred_at=c.occurred_at, click_at=click_at) for c in conversions]  # fmt: skip
    Conversion.objects.bulk_create(rows, ignore_conflicts=True)
    ids = [c.pk for c in conversions]
    Conversion.objects.filter(activity_id__in=ids, campaign_id=campaign_id, click_at__lt=click_at).update(
        click_at=click_at
    )


# --- Rebuilding from the activity table ---------------------------------------------------------


def processed_email_events() -> QuerySet[Activity]:
    return Activity.objects.filter(
        campaign_id__isnull=False, lead__isnull=False, processed_at__isnull=False, kind__in=EMAIL_KINDS
    )


@transaction.atomic
def rebuild() -> dict[str, int]:
    """Recompute the rollup from every processed event; running it twice gives the same tables."""
    if connection.vendor == "postgresql":  # consumers wait until the new tables are complete
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE reports_touch, reports_counter, reports_conversion IN EXCLUSIVE MODE")
    for model in (Touch, Counter, Conversion):
        model.objects.all().delete()
    for all_events in (True, False):
        events = processed_email_events() if all_events else processed_email_events().filter(HUMAN)
        _rebuild_variant(events, all_events)
    _rebuild_conversions()
    return {model.__name__.lower(): model.objects.count() for model in (Touch, Counter, Conversion)}


def _rebuild_variant(events: QuerySet[Activity], all_events: bool) -> None:
    """Touches and counters of one variant; a complaint is counted under its own kind as well."""
    flag = Value(all_events, output_field=BooleanField())
    complained = Value(COMPLAINED, output_field=CharField())
    plain, complaints = events.exclude(kind=COMPLAINED), events.filter(COMPLAINT)
    touch_columns = ["campaign_id", "lead_id", "kind", "all_events"]
    touched = plain.filter(kind__in=UNIQUE_KINDS).values("campaign_id", "lead_id", "kind").annotate(f=flag)
    _insert_select(Touch, touch_columns, touched.distinct())
    _insert_select(Touch, touch_columns, complaints.values("campaign_id", "lead_id").annotate(
        k=complained, f=flag).distinct())  # fmt: skip
    sums = {"f": flag, "t": Count("id"), "u": Count("lead_id", distinct=True, filter=Q(kind__in=UNIQUE_KINDS))}
    counter_columns = ["campaign_id", "kind", "all_events", "total", '"unique"']
    _insert_select(Counter, counter_columns, plain.values("campaign_id", "kind").annotate(**sums))
    _insert_select(Counter, counter_columns, complaints.values("campaign_id").annotate(k=complained, **sums))


def _rebuild_conversions() -> None:
    """Every conversion with the latest human click of each campaign within the window before it."""
    window = attribution_window()
    clicks = Activity.objects.filter(kind="email_clicked", campaign_id__isnull=False, lead__isnull=False)
    joined = clicks.filter(HUMAN).filter(
        lead__activities__kind__in=CONVERSION_KINDS,
        lead__activities__occurred_at__gte=F("occurred_at"),
        lead__activities__occurred_at__lte=F("occurred_at") + window,
    )
    rows = joined.values("lead__activities__id", "campaign_id", "lead_id", "lead__activities__kind",
                         "lead__activities__occurred_at").annotate(click_at=Max("occurred_at"))  # fmt: skip
    columns = ["activity_id", "campaign_id", "lead_id", "kind", "occurred_at", "click_at"]
    _insert_select(Conversion, columns, rows)


def _insert_select(model, columns: list[str], rows: QuerySet) -> None:
    """INSERT … SELECT of a queryset: the ORM writes each database's SQL (JSON, date arithmetic)."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) {sql}", params)
