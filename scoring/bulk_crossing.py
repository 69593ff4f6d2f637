"""Many leads crossing the hot-lead threshold at once (after a rescore), set-based.

Each lead still crosses exactly once (the same conditional UPDATE on mql_at IS
NULL as one event's crossing), takes an owner by the same rules and gets its
stage_changed activity. What differs is the alert: a rescore after a rule change
can make thousands of leads hot in one go, and thousands of emails would bury
the sales team, so each owner gets ONE summary (the count and the top leads) and
the chat webhook one message. A crossing caused by an event keeps its own alert.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from leads import stream
from leads.models import Activity, Lead
from scoring.hot import EARLY_STAGES, Rotation
from scoring.models import ScoringSettings

CHUNK = 1000
TOP = 10  # leads named in a summary


@dataclass(frozen=True)
class Candidate:
    pk: int
    stage: str
    owner_id: int | None
    company_id: int | None
    score: int


@dataclass
class Summary:
    """Who became hot, per owner (None: no owner, so the marketers are told)."""

    by_owner: dict[int | None, list[Candidate]] = field(default_factory=lambda: defaultdict(list))

    @property
    def count(self) -> int:
        return sum(map(len, self.by_owner.values()))


def hot_filter(config: ScoringSettings) -> Q:
    """The SQL form of scoring.hot.is_hot."""
    query = Q(score__gte=config.hot_threshold)
    return query if config.fit_threshold is None else query & Q(fit_score__gte=config.fit_threshold)


def cross_all(*, config: ScoringSettings | None = None) -> int:
    """Make every hot lead without mql_at an MQL, in chunks, and send one summary per owner; returns how many.

    The leads are locked before the round-robin turn, the order an event's crossing
    takes them in (its lead row first, then the turn), so the two cannot deadlock.
    """
    config = config or ScoringSettings.load()
    summary, now = Summary(), timezone.now()
    with transaction.atomic():
        candidates = _claim(config)
        rotation = Rotation.locked()
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start : start + CHUNK]
            owners = assign_owners(chunk, config=config, rotation=rotation)
            _mark(chunk, owners, now)
            _record_stage_changes(chunk, now)
            for candidate in chunk:
                summary.by_owner[owners[candidate.pk]].append(candidate)
        rotation.save()
        transaction.on_commit(lambda: send_summaries(summary, webhook=bool(config.webhook_url)))
    return summary.count


def _claim(config: ScoringSettings) -> list[Candidate]:
    """The leads to cross, locked in id order so a concurrent event cannot make one cross twice."""
    rows = Lead.objects.select_for_update().filter(hot_filter(config), mql_at__isnull=True).order_by("pk")
    return [Candidate(*row) for row in rows.values_list("pk", "stage", "owner_id", "company_id", "score")]


def assign_owners(chunk: list[Candidate], *, config: ScoringSettings, rotation: Rotation) -> dict[int, int | None]:
    """The owner of each lead, as scoring.hot.assign_owner would give one lead after the other."""
    by_company = _company_owners(chunk) if config.owner_rule == ScoringSettings.OwnerRule.COMPANY_OWNER else None
    owners = {}
    for lead in chunk:
        owner = lead.owner_id or (by_company.get(lead.company_id) if by_company is not None else None)
        owners[lead.pk] = owner or rotation.next()
        if by_company is not None and lead.company_id:
            by_company.setdefault(lead.company_id, owners[lead.pk])  # its colleagues crossing next follow it
    return owners


def _company_owners(chunk: list[Candidate]) -> dict[int, int]:
    """Each company's owner: that of its most recent MQL, the order scoring.hot.assign_owner uses."""
    companies = {lead.company_id for lead in chunk if lead.company_id and not lead.owner_id}
    rows = Lead.objects.filter(company_id__in=companies, owner__isnull=False).order_by("company_id", "-mql_at")
    owners: dict[int, int] = {}
    for company_id, owner_id in rows.values_list("company_id", "owner_id"):
        owners.setdefault(company_id, owner_id)
    return owners


def _mark(chunk: list[Candidate], owners: dict[int, int | None], now: datetime) -> int:
    """One conditional UPDATE per owner: MQL stage (never a demotion), mql_at stamped, the owner set."""
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for pk, owner_id in owners.items():
        by_owner[owner_id].append(pk)
    stage = Case(When(stage__in=EARLY_STAGES, then=Value(Lead.Stage.MQL)), default=F("stage"))
    return sum(
        Lead.objects.filter(pk__in=pks, mql_at__isnull=True).update(mql_at=now, owner_id=owner_id, stage=stage)
        for owner_id, pks in by_owner.items()
    )


def _record_stage_changes(chunk: list[Candidate], now: datetime) -> None:
    """One stage_changed event per lead moved to MQL, like a single crossing records; inserted in bulk."""
    events = [
        Activity(
            lead_id=lead.pk,
            kind=Activity.Kind.STAGE_CHANGED,
            occurred_at=now,
            data={"from": lead.stage, "to": Lead.Stage.MQL, "score": lead.score},
        )
        for lead in chunk
        if lead.stage in EARLY_STAGES
    ]
    stream.record_system_events(events)


def send_summaries(summary: Summary, *, webhook: bool) -> None:
    """One task per owner, and one for the webhook (so a failing endpoint cannot resend the emails)."""
    from scoring.tasks import alert_hot_leads_summary, post_hot_leads_summary

    for owner_id, leads in summary.by_owner.items():
        alert_hot_leads_summary.delay(owner_id, len(leads), top(leads))
    everyone = [lead for leads in summary.by_owner.values() for lead in leads]
    if webhook and everyone:
        post_hot_leads_summary.delay(len(everyone), top(everyone))


def top(leads: list[Candidate]) -> list[int]:
    return [lead.pk for lead in sorted(leads, key=lambda lead: (-lead.score, lead.pk))[:TOP]]
