"""Recording opens, clicks and unsubscribes of sent emails into the activity stream.

An open or a click is one statement: INSERT … SELECT from the send (its lead and
campaign) … ON CONFLICT (dedup_key) DO NOTHING. Nothing else happens in the
request: the stream's consumers (scoring, …) get these rows in batches from
`dispatch_hits`, a periodic job, because one broker message per hit would cost
more than the hit itself; whatever it misses, the stream's sweeper still processes.

Dedup keys make a retried request (a mail client loading the pixel twice, a
double click) count once within a window, a machine hit never hiding a person's.

On PostgreSQL the hit's own transaction commits without waiting for the WAL flush
(synchronous_commit off, for that statement only): the flush costs more than the
rest of the request, and the WAL writer flushes within a fraction of a second
anyway. A web or worker process dying loses nothing; only a crash of the database
server itself could lose the hits of its last fraction of a second, which is the
price of any buffer, and unlike a Redis buffer there is nothing else to run.
Form submissions and everything else keep synchronous commits.
"""

import json

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from campaigns.models import Send
from campaigns.tracking import Hit
from leads import consents, stream
from leads.models import Activity, Lead

OPEN_WINDOW = 3600  # re-opens within an hour are one reading
CLICK_WINDOW = 600
HIT_KINDS = (Activity.Kind.EMAIL_OPENED, Activity.Kind.EMAIL_CLICKED)
DISPATCHED_MARK = "campaigns:hits-dispatched-up-to"
# Transaction-local (true): the statement's implicit transaction commits without waiting for the flush.
_ASYNC_COMMIT = " AND set_config('synchronous_commit', 'off', true) = 'off'"
HUMAN = Q(data__machine__isnull=True) | Q(data__machine=False)  # a NOT on a missing JSON key would be NULL


def record_open(*, hit: Hit, data: dict) -> int | None:
    """The lead id when this open was recorded now, None when it was already (or the send is gone)."""
    window = int(timezone.now().timestamp()) // OPEN_WINDOW
    key = f"eo:{hit.send_id}:{'m' if data.get('machine') else 'h'}:{window}"
    return _insert(kind=Activity.Kind.EMAIL_OPENED, send_id=hit.send_id, url="", data=data, dedup_key=key)


def record_click(*, hit: Hit, url: str, data: dict) -> int | None:
    """Like record_open; the token's signature already names the (send, link) pair."""
    window = int(timezone.now().timestamp()) // CLICK_WINDOW
    key = f"ec:{hit.signature}:{'m' if data.get('machine') else 'h'}:{window}"
    return _insert(kind=Activity.Kind.EMAIL_CLICKED, send_id=hit.send_id, url=url[:2000], data=data, dedup_key=key)


def _insert(*, kind: str, send_id: int, url: str, data: dict, dedup_key: str) -> int | None:
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    sql = (
        f"INSERT INTO {quote(Activity._meta.db_table)} "
        "(lead_id, campaign_id, kind, occurred_at, url, data, dedup_key, visitor_id) "
        f"SELECT lead_id, campaign_id, %s, %s, %s, %s{'::jsonb' if postgres else ''}, %s, '' "
        f"FROM {quote(Send._meta.db_table)} WHERE id = %s{_ASYNC_COMMIT if _own_transaction(postgres) else ''} "
        "ON CONFLICT (dedup_key) DO NOTHING RETURNING lead_id"
    )
    occurred_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, occurred_at, url, json.dumps(data), dedup_key, send_id])
        row = cursor.fetchone()
    return row[0] if row else None


def _own_transaction(postgres: bool) -> bool:
    """True when the statement is its own transaction, so its commit setting touches nothing else."""
    return postgres and connection.get_autocommit() and not connection.in_atomic_block


def dispatch_hits(*, limit: int = 20_000, chunk: int = 500) -> int:
    """Periodic: hand recent hits to the stream's consumers, 500 per task; returns how many."""
    mark = cache.get(DISPATCHED_MARK, 0)
    ids = _pending_hits(after=mark, limit=limit)
    if not ids and mark and _mark_is_stale(mark):
        ids = _pending_hits(after=0, limit=limit)
    if not ids:
        return 0
    touch_leads(activity_ids=ids)
    for start in range(0, len(ids), chunk):
        stream.dispatch(ids[start : start + chunk])
    # A row committed late below the mark is not lost: the stream's sweeper processes it.
    cache.set(DISPATCHED_MARK, ids[-1], None)
    return len(ids)


def _pending_hits(*, after: int, limit: int) -> list[int]:
    pending = Activity.objects.filter(pk__gt=after, kind__in=HIT_KINDS, processed_at__isnull=True, lead__isnull=False)
    return list(pending.order_by("pk").values_list("pk", flat=True)[:limit])


def _mark_is_stale(mark: int) -> bool:
    """The mark is beyond the table's last id: the database was restored or recreated under this cache."""
    last = Activity.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last is None or last < mark


def touch_leads(*, activity_ids: list[int]) -> int:
    """What stream.record does per event, set-based: a person's hit makes its lead recently active."""
    hits = Activity.objects.filter(HUMAN, pk__in=activity_ids)
    latest = Subquery(
        hits.filter(lead=OuterRef("pk")).order_by().values("lead").annotate(latest=Max("occurred_at")).values("latest")
    )
    stale = Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=latest)
    return Lead.objects.filter(stale, pk__in=hits.values("lead_id")).update(last_activity_at=latest)


def unsubscribe(*, send_id: int, via: str) -> Lead | None:
    """Stop all marketing mail to the send's lead now (idempotent); None when the send is unknown."""
    send = Send.objects.select_related("lead").filter(pk=send_id).first()
    if send is None:
        return None
    with transaction.atomic():
        consents.unsubscribe(send.lead, reason=f"unsubscribe link ({via})")
        stream.record(
            kind=Activity.Kind.UNSUBSCRIBED,
            lead=send.lead,
            campaign_id=send.campaign_id,
            data={"via": via, "send_id": send_id},
            dedup_key=f"eu:{send_id}",
        )
    return send.lead
