"""Dispatching due steps: claim due enrollments in chunks, end those that must exit, queue each step's email.

See campaigns/sequences.py for the exactly-once argument. The whole chunk is one
transaction: rows are locked (SKIP LOCKED, so a second dispatcher takes the next
ones), exits are checked again (the stream may have missed nothing, but a lead
edited in the admin records no activity), sends are inserted and enrollments
advanced. A paused sequence's enrollments are simply not selected.
"""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.automation_models import Enrollment, Sequence, Step
from campaigns.models import Send
from campaigns.schedule import due_at
from campaigns.sequences import ACTIVE, CHUNK, DONE_STAGES, ENGAGED, MAILABLE, Dispatched, end, next_step, window_for
from leads.models import Activity, Lead
from leads.segments import segment_members


def dispatch_due(*, now: datetime | None = None, limit: int = CHUNK, max_chunks: int = 1000) -> Dispatched:
    """Every enrollment due by `now`, chunk after chunk; what to deliver is in the result's `sources`."""
    now = now or timezone.now()
    total = Dispatched()
    for _chunk in range(max_chunks):
        result = dispatch_chunk(now=now, limit=limit)
        total.steps += result.steps
        total.exited += result.exited
        for template_id, sources in result.sources.items():
            total.sources[template_id] += sources
        if result.steps + result.exited < limit:
            break
    return total


@transaction.atomic
def dispatch_chunk(*, now: datetime, limit: int = CHUNK) -> Dispatched:
    due = Enrollment.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        status=ACTIVE, next_due_at__lte=now, sequence__status=Sequence.Status.ACTIVE
    )
    rows = list(due.order_by("next_due_at", "pk").values("pk", "lead_id", "step_id", "sequence_id", "last_step_at")[
        :limit])  # fmt: skip
    result = Dispatched(exited=exit_due(rows=rows, now=now))
    live = set(Enrollment.objects.filter(pk__in=[r["pk"] for r in rows], status=ACTIVE).values_list("pk", flat=True))
    rows = [r for r in rows if r["pk"] in live]
    emails = dict(Lead.objects.filter(pk__in=[r["lead_id"] for r in rows]).values_list("pk", "email"))
    by_step = defaultdict(list)
    for row in rows:
        by_step[row["step_id"]].append(row)
    for step in Step.objects.filter(pk__in=list(by_step)):
        result.steps += _run_step(step=step, rows=by_step[step.pk], emails=emails, now=now, result=result)
    return result


def exit_due(*, rows: list[dict], now: datetime) -> int:
    """Exit conditions checked at send time: not mailable, an opportunity, the goal form, the exit segment."""
    ids = [r["pk"] for r in rows]
    if not ids:
        return 0
    mine = Q(pk__in=ids)
    goal = Activity.objects.filter(
        lead=OuterRef("lead"), kind=Activity.Kind.FORM_SUBMIT,
        form_id=OuterRef("sequence__goal_form_id"), occurred_at__gte=OuterRef("entered_at"),
    )  # fmt: skip
    gone = mine & ~Q(lead__in=Lead.objects.filter(MAILABLE))
    exited = end(enrollments=gone, reason=_("unsubscribed or not mailable"), now=now)
    exited += end(enrollments=mine & Q(lead__stage__in=DONE_STAGES), reason=_("became an opportunity"), now=now)
    with_goal = Enrollment.objects.filter(mine, sequence__goal_form_id__isnull=False).filter(Exists(goal))
    exited += end(enrollments=Q(pk__in=with_goal.values("pk")), reason=_("submitted the goal form"), now=now)
    for sequence in Sequence.objects.filter(pk__in={r["sequence_id"] for r in rows}, exit_segment__isnull=False):
        members = segment_members(sequence.exit_segment).values("pk")
        inside = mine & Q(sequence=sequence, lead__in=members)
        exited += end(enrollments=inside, reason=_("entered the exit segment"), now=now)
    return exited


def _run_step(*, step: Step, rows: list[dict], emails: dict[int, str], now: datetime, result: Dispatched) -> int:
    """Send this step to the rows that pass its branch; move everyone on. Returns how many were handled."""
    passed, failed = _branch(step=step, rows=rows)
    if passed:
        sends = [Send(source=f"step:{step.pk}:{r['pk']}", lead_id=r["lead_id"], email=emails[r["lead_id"]],
                      created_at=now) for r in passed]  # fmt: skip
        Send.objects.bulk_create(sends, ignore_conflicts=True)
        result.sources[step.template_id] += [s.source for s in sends]
        _advance(ids=[r["pk"] for r in passed], target=next_step(step), now=now, sent=True)
    if failed:
        target = Step.objects.filter(pk=step.otherwise_id).first() if step.otherwise_id else next_step(step)
        _advance(ids=[r["pk"] for r in failed], target=target, now=now, sent=False)
    return len(rows)


def _branch(*, step: Step, rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split on "opened/clicked the previous step": an open or click by the lead since that step was sent."""
    if not step.condition:
        return rows, []
    engaged = Activity.objects.filter(lead=OuterRef("lead"), kind__in=ENGAGED[step.condition],
                                      occurred_at__gte=OuterRef("last_step_at"))  # fmt: skip
    ids = set(Enrollment.objects.filter(pk__in=[r["pk"] for r in rows]).filter(Exists(engaged)).values_list(
        "pk", flat=True))  # fmt: skip
    return [r for r in rows if r["pk"] in ids], [r for r in rows if r["pk"] not in ids]


def _advance(*, ids: list[int], target: Step | None, now: datetime, sent: bool) -> None:
    if target is None:
        end(enrollments=Q(pk__in=ids), reason=_("all steps done"), now=now, status=Enrollment.Status.COMPLETED)
        return
    changes = {"step": target, "next_due_at": due_at(after=now, wait=target.wait, window=window_for(target))}
    if sent:
        changes["last_step_at"] = now
    Enrollment.objects.filter(pk__in=ids, status=ACTIVE).update(**changes)
