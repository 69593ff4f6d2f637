"""Decay: leads are hottest when new and cool over time.

Two modes, chosen in the scoring settings: points expire N days after the
event that earned them, or an idle lead's score shrinks by X% for every 30 days
without activity. Both add ledger rows (never edit old ones), and both are
idempotent: running decay twice on the same day changes nothing.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.models import Lead
from scoring.ledger import refresh_scores
from scoring.models import ScoreEntry, ScoringSettings

BATCH = 5000
PERIOD = timedelta(days=30)


def apply_decay(*, now: datetime | None = None) -> int:
    """Apply the configured decay; returns how many ledger rows it added."""
    config = ScoringSettings.load()
    now = now or timezone.now()
    if config.decay == ScoringSettings.Decay.EXPIRE:
        return expire_points(days=config.decay_days, now=now)
    if config.decay == ScoringSettings.Decay.SHRINK:
        return shrink_idle_scores(percent=config.decay_percent, now=now)
    return 0


def expire_points(*, days: int, now: datetime) -> int:
    """Cancel each behaviour row older than `days` with an expiry row of the opposite sign."""
    expirable = ScoreEntry.objects.filter(
        kind=ScoreEntry.Kind.BEHAVIOUR, created_at__lt=now - timedelta(days=days), cancelled_by__isnull=True
    ).exclude(points=0)
    reason = _("Expired after %(days)d days") % {"days": days}
    added = 0
    while batch := list(expirable.values_list("pk", "lead_id", "points")[:BATCH]):
        rows = [_expiry(pk, lead_id, points, reason, now) for pk, lead_id, points in batch]
        added += _add(rows)
    return added


def _expiry(entry_id: int, lead_id: int, points: int, reason: str, now: datetime) -> ScoreEntry:
    return ScoreEntry(
        lead_id=lead_id, kind=ScoreEntry.Kind.EXPIRY, cancels_id=entry_id, window=f"x{entry_id}",
        points=-points, reason=reason, created_at=now,
    )  # fmt: skip


def shrink_idle_scores(*, percent: int, now: datetime) -> int:
    """Take `percent` off the score of each lead idle for a whole 30-day period, once per period."""
    idle = Q(last_activity_at__lt=now - PERIOD) | Q(last_activity_at__isnull=True, created_at__lt=now - PERIOD)
    leads = Lead.objects.filter(idle, score__gt=0).order_by("pk")
    reason = _("%(percent)d%% decay after 30 days without activity") % {"percent": percent}
    added, after = 0, 0
    while batch := list(
        leads.filter(pk__gt=after).values_list("pk", "score", "last_activity_at", "created_at")[:BATCH]
    ):
        added += _add([_shrink(*row, percent=percent, reason=reason, now=now) for row in batch])
        after = batch[-1][0]
    return added


def _shrink(
    lead_id: int, score: int, last: datetime | None, created: datetime, *, percent: int, reason: str, now
) -> ScoreEntry:
    since = last or created
    period = (now - since) // PERIOD
    points = -max(1, score * percent // 100)
    window = f"s{since:%Y%m%d%H%M%S}-{period}"  # one row per idle stretch and period
    return ScoreEntry(
        lead_id=lead_id, kind=ScoreEntry.Kind.DECAY, window=window, points=points, reason=reason, created_at=now
    )


@transaction.atomic
def _add(rows: list[ScoreEntry]) -> int:
    before = ScoreEntry.objects.filter(lead_id__in={row.lead_id for row in rows}).count()
    ScoreEntry.objects.bulk_create(rows, ignore_conflicts=True)
    lead_ids = list({row.lead_id for row in rows})
    refresh_scores(lead_ids)
    return ScoreEntry.objects.filter(lead_id__in=lead_ids).count() - before
