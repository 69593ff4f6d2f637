"""Merging duplicate leads into one: the winner keeps its identity, the losers' history joins it.

Every row that points at a lead is moved, including tables that later apps add
(scores, list memberships, enrollments, opportunities): they are found through
Lead's reverse relations, not listed here, because leads/ imports no other app.
"""

import json
from collections.abc import Callable, Iterable
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q

from leads.models import Lead, MergeRecord

# Lifecycle order; a merge keeps the most advanced stage any of the leads reached.
STAGE_ORDER = [
    Lead.Stage.SUBSCRIBER,
    Lead.Stage.LEAD,
    Lead.Stage.MQL,
    Lead.Stage.SQL,
    Lead.Stage.OPPORTUNITY,
    Lead.Stage.CUSTOMER,
]
# From harmless to worst: an opt-out, a bounce or a complaint must survive a merge.
EMAIL_STATUS_SEVERITY = [
    Lead.EmailStatus.OK,
    Lead.EmailStatus.UNSUBSCRIBED,
    Lead.EmailStatus.BOUNCED,
    Lead.EmailStatus.COMPLAINED,
]
# Fields combined by their own rule below rather than "fill the winner's empty value".
_OWN_RULE = {
    "id",
    "email",
    "email_key",
    "phone_key",
    "stage",
    "email_status",
    "consent",
    "score",  # a cache of scoring's ledger, rebuilt by its after-merge hook
    "fit_score",
    "custom",
    "first_touch",
    "created_at",
    "updated_at",
    "last_activity_at",
}
_EMPTY = ("", None, {}, [])
# (the other fields of a unique constraint that includes the FK, the constraint's condition)
UniqueSet = tuple[list[str], Q | None]

# Apps that keep caches derived from moved rows (scoring's ledger sum) register
# here from their AppConfig.ready(), as activity consumers do with the stream.
_after_merge: dict[str, Callable[[Lead], None]] = {}


def register_after_merge(name: str, hook: Callable[[Lead], None]) -> None:
    _after_merge[name] = hook


@transaction.atomic
def merge_leads(*, winner: Lead, losers: list[Lead], user: AbstractBaseUser | None) -> list[MergeRecord]:
    """Merge the losers into the winner, record one MergeRecord per loser and delete the losers."""
    winner, losers = _lock(winner=winner, losers=losers)
    loser_ids = [loser.pk for loser in losers]
    records = _records(winner=winner, losers=losers, user=user)
    move_related_rows(loser_ids=loser_ids, winner=winner)
    combine_fields(winner, losers)
    winner.save()
    MergeRecord.objects.bulk_create(records)
    Lead.objects.filter(pk__in=loser_ids).delete()
    for hook in _after_merge.values():
        hook(winner)
    return records


def _lock(*, winner: Lead, losers: list[Lead]) -> tuple[Lead, list[Lead]]:
    """Fresh, locked copies (in pk order, so two merges cannot deadlock), after refusing nonsense."""
    loser_ids = list(dict.fromkeys(loser.pk for loser in losers))
    if not loser_ids:
        raise ValueError("merge_leads needs at least one lead to merge into the winner.")
    if winner.pk is None or None in loser_ids:
        raise ValueError("Only saved leads can be merged.")
    if winner.pk in loser_ids:
        raise ValueError("A lead cannot be merged into itself.")
    rows = Lead.objects.select_for_update().filter(pk__in=[winner.pk, *loser_ids]).order_by("pk")
    locked = {lead.pk: lead for lead in rows}
    if len(locked) != len(loser_ids) + 1:
        raise ValueError("A lead to merge no longer exists (merged or deleted meanwhile).")
    return locked[winner.pk], [locked[pk] for pk in loser_ids]


def combine_fields(winner: Lead, losers: list[Lead]) -> None:
    """Fill the winner's empty fields from the losers (first loser first); never overwrite."""
    everyone = [winner, *losers]
    for field in Lead._meta.concrete_fields:
        if field.name not in _OWN_RULE and getattr(winner, field.attname) in _EMPTY:
            filled = _first_filled(getattr(lead, field.attname) for lead in losers)
            setattr(winner, field.attname, getattr(winner, field.attname) if filled is None else filled)
    winner.custom = _merged_custom(everyone)
    winner.stage = max((lead.stage for lead in everyone), key=_rank(STAGE_ORDER))
    winner.email_status = max((lead.email_status for lead in everyone), key=_rank(EMAIL_STATUS_SEVERITY))
    winner.consent = any(lead.consent for lead in everyone)
    earliest = min(everyone, key=lambda lead: lead.created_at)
    winner.created_at = earliest.created_at
    winner.first_touch = _first_filled([earliest.first_touch, *(lead.first_touch for lead in everyone)]) or {}
    winner.last_activity_at = _latest(lead.last_activity_at for lead in everyone)


def _first_filled(values: Iterable) -> object:
    return next((value for value in values if value not in _EMPTY), None)


def _merged_custom(leads: list[Lead]) -> dict:
    """Custom values of all leads; where several have a key, the first lead (the winner) wins."""
    merged: dict = {}
    for lead in reversed(leads):
        merged.update({key: value for key, value in (lead.custom or {}).items() if value not in _EMPTY})
    return merged


def _rank(order: list[str]) -> Callable[[str], int]:
    return lambda value: order.index(value) if value in order else -1


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    return max((value for value in values if value is not None), default=None)


def _records(*, winner: Lead, losers: list[Lead], user: AbstractBaseUser | None) -> list[MergeRecord]:
    tags = _tag_names([loser.pk for loser in losers])
    return [
        MergeRecord(
            winner=winner,
            loser_email=loser.email,
            loser_data=snapshot(loser, tags=tags.get(loser.pk, [])),
            merged_by=user,
        )
        for loser in losers
    ]


def _tag_names(lead_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    rows = Lead.tags.through.objects.filter(lead_id__in=lead_ids).order_by("tag__name")
    for lead_id, name in rows.values_list("lead_id", "tag__name"):
        names.setdefault(lead_id, []).append(name)
    return names


def snapshot(lead: Lead, *, tags: list[str]) -> dict:
    """Every column of the lead as JSON-safe values (dates as ISO strings), plus its tag names."""
    data = {field.name: field.value_from_object(lead) for field in Lead._meta.concrete_fields}
    data["tags"] = tags
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def lead_foreign_keys() -> list[models.ForeignKey]:
    """Every foreign key that points at Lead, in any app, M2M through tables (tags) included.

    include_hidden: the through tables of many-to-many fields (Lead.tags, or a
    later list's members) reach Lead through hidden reverse relations.
    """
    return [
        relation.field
        for relation in Lead._meta.get_fields(include_hidden=True)
        if relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)
    ]


def move_related_rows(*, loser_ids: list[int], winner: Lead) -> None:
    for foreign_key in lead_foreign_keys():
        _move(foreign_key, loser_ids=loser_ids, winner=winner)


def _move(foreign_key: models.ForeignKey, *, loser_ids: list[int], winner: Lead) -> None:
    """One UPDATE; when a unique constraint collides, drop the losers' duplicate rows and retry."""
    # The base manager: a default manager that hides rows (soft delete) must not leave them behind.
    rows = foreign_key.model._base_manager.filter(**{f"{foreign_key.attname}__in": loser_ids})
    try:
        with transaction.atomic():
            rows.update(**{foreign_key.attname: winner.pk})
    except IntegrityError:
        unique_sets = _unique_sets(foreign_key)
        if not unique_sets:
            raise
        for others, condition in unique_sets:
            _drop_colliding(foreign_key, others, condition, loser_ids=loser_ids, winner_id=winner.pk)
        rows.update(**{foreign_key.attname: winner.pk})


def _unique_sets(foreign_key: models.ForeignKey) -> list[UniqueSet]:
    """The unique constraints of the FK's table that include the FK, as the other fields of each."""
    meta, names = foreign_key.model._meta, {foreign_key.name, foreign_key.attname}
    sets: list[UniqueSet] = [([], None)] if foreign_key.unique else []
    for fields in meta.unique_together:
        if names & set(fields):
            sets.append(([field for field in fields if field not in names], None))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and names & set(constraint.fields):
            sets.append(([field for field in constraint.fields if field not in names], constraint.condition))
    return sets


def _drop_colliding(
    foreign_key: models.ForeignKey, others: list[str], condition: Q | None, *, loser_ids: list[int], winner_id: int
) -> None:
    """Delete the losers' rows that would duplicate the winner's row, or an earlier loser row."""
    scope = foreign_key.model._base_manager.filter(condition or Q())
    same = {field: OuterRef(field) for field in others}
    winner_has_it = scope.filter(**{foreign_key.attname: winner_id}, **same)
    earlier_loser_has_it = scope.filter(**{f"{foreign_key.attname}__in": loser_ids, "pk__lt": OuterRef("pk")}, **same)
    colliding = scope.filter(**{f"{foreign_key.attname}__in": loser_ids})
    colliding.filter(Exists(winner_has_it) | Exists(earlier_loser_has_it)).delete()
