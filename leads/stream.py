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
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leads.models import Activity, Lead, VisitorLink
from mautomation.lib.enqueue import try_enqueue

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
Consumer = Callable[[Activity], None]
BatchConsumer = Callable[[list[Activity]], None]


@dataclass(frozen=True)
class Registration:
    consumer: Consumer
    only: frozenset[str] | None  # the kinds it reads; None: every kind
    ignores: frozenset[str]
    batch: BatchConsumer | None  # takes a batch's events of its kinds at once; else one call per event

    def wants(self, kind: str) -> bool:
        return kind not in self.ignores and (self.only is None or kind in self.only)


_consumers: dict[str, Registration] = {}


def register(
    name: str,
    consumer: Consumer,
    *,
    only: Collection[str] | None = None,
    ignores: Collection[str] = (),
    batch: BatchConsumer | None = None,
) -> None:
    """Add a consumer of the kinds it reads; registering the same name again replaces it (safe on app reload).

    Declaring the kinds matters for speed: a broadcast writes one email_sent per recipient, and an event
    no consumer reads is marked processed without being loaded.
    """
    only = frozenset(only) if only is not None else None
    _consumers[name] = Registration(consumer, only, frozenset(ignores), batch)


def consumers() -> dict[str, Consumer]:
    return {name: registration.consumer for name, registration in _consumers.items()}


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
        _run([Activity.objects.select_related("lead").get(pk=activity_id)])
    return True


def process_many(activity_ids: list[int]) -> int:
    """Process a batch in one transaction: one claim, and consumers with a batch form called once.

    If any consumer fails, the whole batch rolls back and its events are processed one by one, so
    only the failing event stays pending while the others go through; its error is raised afterwards,
    so a task retries it.
    """
    done, failure = _process_batch(activity_ids)
    if failure is not None:
        raise failure
    return done


def _process_batch(activity_ids: list[int]) -> tuple[int, Exception | None]:
    try:
        with transaction.atomic():
            claimed = _claim(activity_ids)
            _run(_load(claimed))
            return len(claimed), None
    except Exception:
        log.warning("a batch of %s activities failed; processing them one by one", len(activity_ids), exc_info=True)
        return _one_by_one(activity_ids)


def _one_by_one(activity_ids: list[int]) -> tuple[int, Exception | None]:
    done, failure = 0, None
    for activity_id in activity_ids:
        try:
            done += process(activity_id)
        except Exception as exc:
            log.exception("activity %s failed; it stays pending", activity_id)
            failure = failure or exc
    return done, failure


def _claim(activity_ids: list[int]) -> list[int]:
    """Lock and mark the batch's unprocessed events; rows another worker holds are its to process."""
    rows = Activity.objects.filter(pk__in=activity_ids, processed_at__isnull=True, lead__isnull=False)
    ids = list(rows.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True))
    Activity.objects.filter(pk__in=ids).update(processed_at=timezone.now())
    return ids


def _load(ids: list[int]) -> list[Activity]:
    """The claimed events some consumer reads; the rest (email_sent, mostly) are never loaded."""
    rows = Activity.objects.filter(pk__in=ids).order_by("pk").select_related("lead")
    if all(registration.only is not None for registration in _consumers.values()):
        rows = rows.filter(kind__in={kind for registration in _consumers.values() for kind in registration.only})
    return list(rows)


def _run(activities: list[Activity]) -> None:
    for registration in _consumers.values():
        wanted = [activity for activity in activities if registration.wants(activity.kind)]
        if registration.batch and wanted:
            registration.batch(wanted)
        else:
            for activity in wanted:
                registration.consumer(activity)


def pending(*, older_than: timedelta = timedelta(seconds=30), limit: int = 1000) -> list[int]:
    """Unprocessed events with a lead, old enough that their own dispatch has had its chance."""
    cutoff = timezone.now() - older_than
    rows = Activity.objects.filter(processed_at__isnull=True, lead__isnull=False, occurred_at__lt=cutoff)
    return list(rows.order_by("occurred_at").values_list("pk", flat=True)[:limit])


def sweep(*, older_than: timedelta = timedelta(seconds=30), limit: int = 1000) -> int:
    """Process what dispatch missed; returns how many events were processed here."""
    done, ids = 0, pending(older_than=older_than, limit=limit)
    for start in range(0, len(ids), SWEEP_BATCH):
        done += _process_batch(ids[start : start + SWEEP_BATCH])[0]  # failures are logged and stay pending
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
