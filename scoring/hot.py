"""Crossing the hot-lead threshold: MQL stage, an owner, and one alert per crossing."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from leads import stream
from leads.models import Activity, Lead
from mautomation.roles import SALES
from scoring.models import ScoringSettings

EARLY_STAGES = [Lead.Stage.SUBSCRIBER, Lead.Stage.LEAD]


def is_hot(lead: Lead, config: ScoringSettings) -> bool:
    if lead.score < config.hot_threshold:
        return False
    return config.fit_threshold is None or lead.fit_score >= config.fit_threshold


def check_hot(lead_id: int, *, config: ScoringSettings | None = None) -> bool:
    """Make the lead an MQL if it just crossed the threshold; True only for the crossing itself.

    The conditional UPDATE on mql_at IS NULL changes exactly one row once, so
    concurrent events cannot alert twice. mql_at is cleared when sales recycles
    the lead, which makes a later crossing a new one.
    """
    config = config or ScoringSettings.load()
    lead = Lead.objects.get(pk=lead_id)
    if lead.mql_at or not is_hot(lead, config):
        return False
    owner_id = lead.owner_id or assign_owner(lead, config)
    stage = Case(When(stage__in=EARLY_STAGES, then=Value(Lead.Stage.MQL)), default=F("stage"))
    crossed = Lead.objects.filter(pk=lead_id, mql_at__isnull=True).update(
        mql_at=timezone.now(), owner_id=owner_id, stage=stage
    )
    if not crossed:
        return False
    if lead.stage in EARLY_STAGES:
        data = {"from": lead.stage, "to": Lead.Stage.MQL, "score": lead.score}
        stream.record(kind=Activity.Kind.STAGE_CHANGED, lead=lead, data=data)
    transaction.on_commit(lambda: _alert(lead_id))
    return True


def _alert(lead_id: int) -> None:
    from scoring.tasks import alert_hot_lead

    alert_hot_lead.delay(lead_id)


def assign_owner(lead: Lead, config: ScoringSettings) -> int | None:
    if config.owner_rule == ScoringSettings.OwnerRule.COMPANY_OWNER and lead.company_id:
        owners = Lead.objects.filter(company_id=lead.company_id, owner__isnull=False)
        owner_id = owners.order_by("-mql_at").values_list("owner_id", flat=True).first()
        if owner_id:
            return owner_id
    return next_in_rotation()


def next_in_rotation() -> int | None:
    """The next active sales user after the last one assigned; locked so two crossings take two turns."""
    rotation = Rotation.locked()
    chosen = rotation.next()
    rotation.save()
    return chosen


class Rotation:
    """Round robin among active sales users by id, continuing from the turn stored in the settings.

    locked() holds the settings row until the transaction ends, so concurrent
    crossings (one event's, or a rescore's many) each take their own turn.
    """

    def __init__(self, sales: list[int], last: int | None) -> None:
        self.sales, self.last = sales, last

    @classmethod
    def locked(cls) -> "Rotation":
        users = get_user_model().objects.filter(groups__name=SALES, is_active=True).order_by("pk")
        ScoringSettings.load()
        last = ScoringSettings.objects.select_for_update().values_list("last_assigned_id", flat=True).get(pk=1)
        return cls(list(users.values_list("pk", flat=True)), last)

    def next(self) -> int | None:
        if not self.sales:
            return None
        self.last = next((pk for pk in self.sales if self.last is None or pk > self.last), self.sales[0])
        return self.last

    def save(self) -> None:
        ScoringSettings.objects.filter(pk=1).update(last_assigned_id=self.last)
