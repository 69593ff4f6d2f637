"""Trigger emails and staff actions: an activity (with filters) fires a trigger, at most once per lead per N days.

Fires are rows (`TriggerFire`) with a due time, written inside the stream's
claim; one without delay is run by a task right after commit, and the periodic
dispatcher runs the rest (and any whose task was lost). The lead's row is locked
while deciding, so two events of one lead processed at once cannot both fire.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.automation_models import Action, Trigger, TriggerFire
from leads.models import Activity, Lead
from mautomation.lib.webhook_targets import url_problem

NEEDS = {Action.SEND_EMAIL: "template", Action.ADD_TAG: "tag", Action.CHANGE_STAGE: "stage",
         Action.WEBHOOK: "webhook_url"}  # fmt: skip
MAX_DELAY_MINUTES = 60 * 24 * 365


def trigger_problems(*, trigger: Trigger) -> dict[str, str]:
    problems = {}
    field = NEEDS.get(trigger.action)
    if field and not getattr(trigger, f"{field}_id" if field in ("template", "tag") else field):
        problems[field] = _("This action needs a value here.")
    if trigger.delay_minutes is None or not 0 <= trigger.delay_minutes <= MAX_DELAY_MINUTES:
        problems["delay_minutes"] = _("The delay must be between 0 and 525,600 minutes (a year).")
    if trigger.min_count is not None and trigger.min_count < 1:
        problems["min_count"] = _("Use 1 or more.")
    if trigger.action == Action.WEBHOOK and trigger.webhook_url and (problem := url_problem(trigger.webhook_url)):
        problems["webhook_url"] = problem
    return problems


def matching(activity: Activity) -> list[Trigger]:
    triggers = Trigger.objects.filter(active=True, kind=activity.kind)
    return [t for t in triggers if _filters_match(t, activity)]


def _filters_match(trigger: Trigger, activity: Activity) -> bool:
    if trigger.url_contains and trigger.url_contains not in (activity.url or ""):
        return False
    return trigger.form_id is None or trigger.form_id == activity.form_id


def fire_on(activity: Activity) -> list[int]:
    """Fire every trigger this event satisfies; returns the new fires' ids."""
    triggers = [t for t in matching(activity) if _count_reached(t, activity)]
    if not triggers:
        return []
    Lead.objects.select_for_update().filter(pk=activity.lead_id).values_list("pk").first()
    fires = [_fire(trigger, activity) for trigger in triggers]
    ids = [f.pk for f in fires if f is not None]
    now_ids = [f.pk for f in fires if f is not None and f.due_at <= f.fired_at]
    if now_ids:
        transaction.on_commit(lambda: _run_soon(now_ids))
    return ids


def _count_reached(trigger: Trigger, activity: Activity) -> bool:
    """ "Visited pricing twice this week": enough matching events of the lead within the period."""
    if trigger.min_count <= 1:
        return True
    since = activity.occurred_at - timedelta(days=trigger.count_days)
    events = Activity.objects.filter(lead_id=activity.lead_id, kind=trigger.kind, occurred_at__gte=since,
                                     occurred_at__lte=activity.occurred_at)  # fmt: skip
    if trigger.url_contains:
        events = events.filter(url__contains=trigger.url_contains)
    if trigger.form_id is not None:
        events = events.filter(form_id=trigger.form_id)
    return events.count() >= trigger.min_count


def _fire(trigger: Trigger, activity: Activity) -> TriggerFire | None:
    now = timezone.now()
    if recently_fired(trigger=trigger, lead_id=activity.lead_id, now=now):
        return None
    due = now + timedelta(minutes=trigger.delay_minutes)
    return TriggerFire.objects.create(trigger=trigger, lead_id=activity.lead_id, activity_id=activity.pk,
                                      fired_at=now, due_at=due)  # fmt: skip


def recently_fired(*, trigger: Trigger, lead_id: int, now: datetime) -> bool:
    if not trigger.once_per_days:
        return False
    since = now - timedelta(days=trigger.once_per_days)
    return TriggerFire.objects.filter(trigger=trigger, lead_id=lead_id, fired_at__gt=since).exists()


def _run_soon(fire_ids: list[int]) -> None:
    from campaigns.automation_tasks import run_fires
    from mautomation.lib.enqueue import try_enqueue

    try_enqueue(run_fires, (fire_ids,), what=f"{len(fire_ids)} trigger fires")


def run_fire(*, fire_id: int, now: datetime | None = None) -> str:
    """Claim a due fire (pending → running, exactly one row) and perform its action; the final status."""
    now = now or timezone.now()
    if not TriggerFire.objects.filter(pk=fire_id, status=TriggerFire.Status.PENDING, due_at__lte=now).update(
        status=TriggerFire.Status.RUNNING
    ):
        return ""
    from campaigns.actions import perform

    fire = TriggerFire.objects.select_related("trigger", "lead").get(pk=fire_id)
    status, error = perform(fire=fire)
    TriggerFire.objects.filter(pk=fire_id).update(status=status, error=error[:500])
    return status


def due_fires(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    rows = TriggerFire.objects.filter(status=TriggerFire.Status.PENDING, due_at__lte=now or timezone.now())
    return list(rows.order_by("due_at").values_list("pk", flat=True)[:limit])
