"""The activity stream: writing an event and handing it, exactly once, to its consumers.

Consumers (scoring, automation, notifications) register here from their own
AppConfig.ready(), so this app never imports them. An event is written in the
caller's transaction and dispatched to a worker after commit; if the broker is
down at that moment, the row simply stays unprocessed and the periodic sweeper
(`process_activities`) picks it up: the table is its own outbox.

Exactly once: a worker claims a row with a conditional UPDATE that must change
exactly one row, and runs the consumers in the same transaction. If a consumer
fails, the claim rolls back with it and the row is retried later.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leads.models import Activity, Lead, VisitorLink
from mautomation.lib.enqueue import try_enqueue

log = logging.getLogger(__name__)

Consumer = Callable[[Activity], None]
_consumers: dict[str, Consumer] = {}


def register(name: str, consumer: Consumer) -> None:
    """Add a consumer; registering the same name again replaces it (safe on app reload)."""
    _consumers[name] = consumer


def consumers() -> dict[str, Consumer]:
    return dict(_consumers)


def record(
    *,
    kind: str,
    lead: Lead | None = None,
    visitor_id: str = "",
    occurred_at: datetime | None = None,
    dedup_key: str | None = None,
    **fields,
) -> Activity:
    """Append an event; with a dedup_key, recording the same event again returns the first row."""
    if dedup_key and (existing := Activity.objects.filter(dedup_key=dedup_key).first()):
        return existing
    if lead is None and visitor_id:
        lead = Lead.objects.filter(visitor_links__visitor_id=visitor_id).first()
    activity = Activity(kind=kind, lead=lead, visitor_id=visitor_id, dedup_key=dedup_key, **fields)
    activity.occurred_at = occurred_at or timezone.now()
    try:
        with transaction.atomic():
            activity.save()
    except IntegrityError:
        if dedup_key:  # the same event, recorded concurrently
            return Activity.objects.get(dedup_key=dedup_key)
        raise
    if lead is not None:
        if kind not in Activity.SYSTEM_KINDS:
            _touch(lead.pk, activity.occurred_at)
        transaction.on_commit(lambda: dispatch([activity.pk]))
    return activity


def record_system_events(activities: list[Activity], *, batch: int = 500) -> list[int]:
    """Append many system events (stage changes of a rescore, say) in one INSERT; dispatched after commit.

    Only system kinds: they do not move a lead's last activity, so nothing per row is needed.
    """
    if any(activity.kind not in Activity.SYSTEM_KINDS or activity.lead_id is None for activity in activities):
        raise ValueError("record_system_events takes system events of a lead only")
    ids = [activity.pk for activity in Activity.objects.bulk_create(activities, batch_size=batch)]
    for start in range(0, len(ids), batch):
        transaction.on_commit(lambda chunk=ids[start : start + batch]: dispatch(chunk))
    return ids


def _touch(lead_id: int, when: datetime) -> None:
    Lead.objects.filter(Q(last_activity_at__lt=when) | Q(last_activity_at__isnull=True), pk=lead_id).update(
        last_activity_at=when
    )


def dispatch(activity_ids: list[int]) -> None:
    """Hand events to a worker; if the broker is down the sweeper processes them later."""
    from leads.tasks import process_activities

    try_enqueue(process_activities, (activity_ids,), what=f"{len(activity_ids)} activities")


def process(activity_id: int) -> bool:
    """Run every consumer on one event, once. False when it was already processed (or has no lead)."""
    with transaction.atomic():
        claimed = Activity.objects.filter(pk=activity_id, processed_at__isnull=True, lead__isnull=False).update(
            processed_at=timezone.now()
        )
        if not claimed:
            return False
        activity = Activity.objects.select_related("lead").get(pk=activity_id)
        for consumer in _consumers.values():
            consumer(activity)
    return True


def pending(*, older_than: timedelta = timedelta(seconds=30), limit: int = 1000) -> list[int]:
    """Unprocessed events with a lead, old enough that their own dispatch has had its chance."""
    cutoff = timezone.now() - older_than
    rows = Activity.objects.filter(processed_at__isnull=True, lead__isnull=False, occurred_at__lt=cutoff)
    return list(rows.order_by("occurred_at").values_list("pk", flat=True)[:limit])


def sweep(*, older_than: timedelta = timedelta(seconds=30), limit: int = 1000) -> int:
    """Process what dispatch missed; returns how many events were processed here."""
    done = 0
    for activity_id in pending(older_than=older_than, limit=limit):
        try:
            done += process(activity_id)
        except Exception:
            log.exception("activity %s failed; it stays pending", activity_id)
    return done


@transaction.atomic
def identify(*, visitor_id: str, lead: Lead) -> int:
    """Join an anonymous visitor's history to a lead; its events count from now on.

    Returns how many past events were attached. A visitor id already linked to
    another lead (a shared computer) is re-linked for future events only; the
    other person's history stays theirs.
    """
    if not visitor_id:
        return 0
    VisitorLink.objects.update_or_create(visitor_id=visitor_id, defaults={"lead": lead})
    attached = list(Activity.objects.filter(visitor_id=visitor_id, lead__isnull=True).values_list("pk", flat=True))
    if attached:
        Activity.objects.filter(pk__in=attached).update(lead=lead)
        last = Activity.objects.filter(pk__in=attached).latest("occurred_at").occurred_at
        _touch(lead.pk, last)
        transaction.on_commit(lambda: dispatch(attached))
    return len(attached)
