"""Working a hot lead: claiming it, passing it on, logging calls and notes, handing it back to marketing."""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet

from leads import stream
from leads.models import Activity, Lead
from mautomation.roles import SALES
from sales.models import Handback, Note
from scoring.ledger import refresh_scores
from scoring.models import ScoreEntry


def assignable_owners() -> QuerySet:
    """Who a lead can be passed to: active sales users and superusers."""
    users = get_user_model().objects.filter(Q(groups__name=SALES) | Q(is_superuser=True), is_active=True)
    return users.distinct().order_by("username")


def claim(*, lead: Lead, user: AbstractBaseUser) -> bool:
    """Take an unowned lead (or one's own); False when someone else took it first."""
    taken = Lead.objects.filter(Q(owner__isnull=True) | Q(owner=user), pk=lead.pk).update(owner=user)
    lead.owner = user if taken else lead.owner
    return bool(taken)


def reassign(*, lead: Lead, owner: AbstractBaseUser) -> None:
    Lead.objects.filter(pk=lead.pk).update(owner=owner)
    lead.owner = owner


def add_note(*, lead: Lead, author: AbstractBaseUser, kind: str, body: str) -> Note:
    return Note.objects.create(lead=lead, author=author, kind=kind, body=body)


@transaction.atomic
def hand_back(*, lead: Lead, user: AbstractBaseUser, kind: str, reason: str, comment: str = "") -> Handback:
    """Return the lead to marketing: stage lead, mql_at cleared, score reset, the reason kept.

    The reset is a ledger row, so the history still says why the lead was hot;
    from zero, a later crossing of the threshold is a new hot lead with a new alert.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    handback = Handback.objects.create(
        lead=lead, kind=kind, reason=reason, comment=comment, score_before=lead.score, by=user
    )
    if lead.score:
        ScoreEntry.objects.create(
            lead=lead, kind=ScoreEntry.Kind.MANUAL, window=f"handback-{handback.pk}", points=-lead.score,
            reason=f"{handback.get_kind_display()}: {handback.get_reason_display()}"[:300],
        )  # fmt: skip
        refresh_scores([lead.pk])
    Lead.objects.filter(pk=lead.pk).update(stage=Lead.Stage.LEAD, mql_at=None)
    data = {"from": lead.stage, "to": Lead.Stage.LEAD, "handback": kind, "reason": reason}
    stream.record(kind=Activity.Kind.STAGE_CHANGED, lead=lead, data=data)
    return handback
