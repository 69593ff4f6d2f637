"""Step sequences: enrolling leads, walking them through the steps, and ending early.

An enrollment waits on a step (by id) with its due time. The dispatcher takes
due enrollments of active sequences in chunks (SELECT … FOR UPDATE SKIP LOCKED,
so two dispatchers never share a row), and in the same transaction creates each
step's `Send` row under the unique (source, lead) of the email issue and moves
the enrollment on: a retried or concurrent run finds the enrollment already
advanced and the send already there, so each step is sent exactly once.
Delivery happens after commit (campaigns/automation_sending.py).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.automation_models import Enrollment, Sequence, Step
from campaigns.schedule import due_at, window_of, window_problem
from leads.models import Activity, Lead

ACTIVE = Enrollment.Status.ACTIVE
CHUNK = 500
DONE_STAGES = (Lead.Stage.OPPORTUNITY, Lead.Stage.CUSTOMER)
MAILABLE = Q(consent=True, email_status=Lead.EmailStatus.OK) & ~Q(email="")
ENGAGED = {Step.Condition.OPENED: ["email_opened", "email_clicked"], Step.Condition.CLICKED: ["email_clicked"]}


class SequenceError(ValueError):
    """A sequence that cannot take leads, with the reason for the marketer."""


@dataclass
class Enrolled:
    enrolled: int = 0
    skipped: int = 0  # not mailable: recorded, not an error
    already: int = 0


@dataclass
class Dispatched:
    steps: int = 0
    exited: int = 0
    sources: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # template id → sources


def window_for(step: Step):
    return window_of(weekdays=step.weekdays, start=step.window_start, end=step.window_end)


def step_problems(*, step: Step) -> dict[str, str]:
    """What makes a step unusable, by field; empty when it is fine."""
    problems = {}
    if step.template_id is None:
        problems["template"] = _("Choose a template: a step without one cannot be sent.")
    if step.delay is None or step.delay < 0:
        problems["delay"] = _("The delay cannot be negative.")
    if any(c not in "0123456" for c in step.weekdays) or len(set(step.weekdays)) != len(step.weekdays):
        problems["weekdays"] = _("Use each digit 0 (Monday) to 6 (Sunday) at most once.")
    if window_problem(window_for(step)):
        problems["window_end"] = _("The send window must end after it starts.")
    if step.otherwise_id and (problem := _jump_problem(step)):
        problems["otherwise"] = problem
    return problems


def _jump_problem(step: Step) -> str:
    target = Step.objects.filter(pk=step.otherwise_id).values("sequence_id", "order").first()
    if target is None or target["sequence_id"] != step.sequence_id or target["order"] <= step.order:
        return _("A branch may only jump forward to a later step of the same sequence: going back would loop.")
    if not step.condition:
        return _("A jump needs a branch condition (opened or clicked).")
    return ""


def sequence_problems(*, sequence: Sequence) -> list[str]:
    steps = list(sequence.steps.all())
    if not steps:
        return [_("Add at least one step.")]
    found = []
    for number, step in enumerate(steps, 1):
        found += [_("Step %(n)s: %(problem)s") % {"n": number, "problem": p} for p in step_problems(step=step).values()]
    return found


def activate(*, sequence: Sequence) -> None:
    if problems := sequence_problems(sequence=sequence):
        raise SequenceError(" ".join(problems))
    Sequence.objects.filter(pk=sequence.pk).update(status=Sequence.Status.ACTIVE)


def first_step(sequence_id: int) -> Step | None:
    return Step.objects.filter(sequence_id=sequence_id).order_by("order", "pk").first()


def next_step(step: Step) -> Step | None:
    later = Q(order__gt=step.order) | Q(order=step.order, pk__gt=step.pk)
    return Step.objects.filter(later, sequence_id=step.sequence_id).order_by("order", "pk").first()


def enroll(*, sequence: Sequence, lead_ids: Iterable[int], source: str, now: datetime | None = None) -> Enrolled:
    """Enroll these leads at the first step; unmailable ones are recorded as skipped; never twice at once."""
    now = now or timezone.now()
    step = first_step(sequence.pk)
    if step is None:
        raise SequenceError(_("This sequence has no steps yet."))
    wanted = set(Lead.objects.filter(pk__in=list(lead_ids)).values_list("pk", flat=True))
    taken = Enrollment.objects.filter(sequence=sequence, lead_id__in=wanted).exclude(status=Enrollment.Status.SKIPPED)
    taken = taken.filter(status=ACTIVE) if sequence.reentry else taken
    fresh = wanted - set(taken.values_list("lead_id", flat=True))
    mailable = set(Lead.objects.filter(MAILABLE, pk__in=fresh).values_list("pk", flat=True))
    due = due_at(after=now, wait=step.wait, window=window_for(step))
    common = {"sequence": sequence, "source": source[:30], "entered_at": now}
    rows = [Enrollment(lead_id=pk, step=step, next_due_at=due, **common) for pk in mailable] + [
        Enrollment(lead_id=pk, status=Enrollment.Status.SKIPPED, reason=_("not mailable"), finished_at=now, **common)
        for pk in fresh - mailable
    ]
    created = Enrollment.objects.bulk_create(rows, ignore_conflicts=True)
    timeline(lead_ids=mailable, sequence=sequence, event="enrolled", now=now)
    timeline(lead_ids=fresh - mailable, sequence=sequence, event="skipped", now=now, reason=_("not mailable"))
    if mailable and due <= now:
        transaction.on_commit(_dispatch_soon)
    return Enrolled(enrolled=len(mailable), skipped=len(created) - len(mailable), already=len(wanted - fresh))


def _dispatch_soon() -> None:
    from campaigns.automation_tasks import dispatch_due_steps
    from mautomation.lib.enqueue import try_enqueue

    try_enqueue(dispatch_due_steps, (False,), what="due steps")  # the periodic run is the fallback


def timeline(*, lead_ids: Iterable[int], sequence: Sequence, event: str, now: datetime, reason: str = "") -> None:
    """The lead's timeline shows the sequence's life: a custom activity, already processed (no consumer runs)."""
    data = {"automation": event, "sequence_id": sequence.pk, "sequence": sequence.name, "reason": reason}
    Activity.objects.bulk_create(
        Activity(lead_id=pk, kind=Activity.Kind.CUSTOM, occurred_at=now, processed_at=now, data=data) for pk in lead_ids
    )


def end(*, enrollments: Q, reason: str, now: datetime | None = None, status: str = Enrollment.Status.EXITED) -> int:
    """End the matching active enrollments (an exit, a removal or the last step), with a timeline entry."""
    now = now or timezone.now()
    rows = list(Enrollment.objects.filter(enrollments, status=ACTIVE).values_list("pk", "lead_id", "sequence_id"))
    Enrollment.objects.filter(pk__in=[r[0] for r in rows], status=ACTIVE).update(
        status=status, reason=reason[:200], finished_at=now, next_due_at=None, step=None
    )
    by_sequence = defaultdict(list)
    for _pk, lead_id, sequence_id in rows:
        by_sequence[sequence_id].append(lead_id)
    for sequence in Sequence.objects.filter(pk__in=list(by_sequence)):
        timeline(lead_ids=by_sequence[sequence.pk], sequence=sequence, event=status, now=now, reason=reason)
    return len(rows)


def unenroll(*, sequence: Sequence, lead_ids: Iterable[int]) -> int:
    return end(enrollments=Q(sequence=sequence, lead_id__in=list(lead_ids)), reason=_("removed by staff"))
