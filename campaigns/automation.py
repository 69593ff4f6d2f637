"""One periodic pass of the automation, shared by the Celery task and the `dispatch_due_steps` command."""

from datetime import datetime

from django.utils import timezone

from campaigns.automation_sending import BATCH, redeliver_pending
from campaigns.reactions import enter_from_lists_and_segments
from campaigns.step_dispatch import dispatch_due
from campaigns.triggers import due_fires, run_fire
from mautomation.lib.enqueue import try_enqueue


def run_due(*, now: datetime | None = None, entries: bool = True) -> dict:
    """List and segment entries (periodic runs only), due steps, due trigger fires, stragglers.

    Step emails are handed to `deliver_sends` tasks of 500, so several workers
    share a large wave; if the broker is down, `redeliver_pending` sends them on
    a later pass.
    """
    now = now or timezone.now()
    entered = enter_from_lists_and_segments(now=now) if entries else 0
    dispatched = dispatch_due(now=now)
    queued = sum(queue_delivery(template_id=t, sources=s) for t, s in dispatched.sources.items())
    fires = run_fires(fire_ids=due_fires(now=now), now=now)
    resent = redeliver_pending() if entries else 0
    return {"entered": entered, "steps": dispatched.steps, "exited": dispatched.exited, "queued": queued,
            "fires": fires, "redelivered": resent}  # fmt: skip


def queue_delivery(*, template_id: int, sources: list[str]) -> int:
    from campaigns.automation_tasks import deliver_sends

    for start in range(0, len(sources), BATCH):
        try_enqueue(deliver_sends, (template_id, sources[start : start + BATCH]), what="step emails")
    return len(sources)


def run_fires(*, fire_ids: list[int], now: datetime | None = None) -> int:
    return sum(bool(run_fire(fire_id=pk, now=now)) for pk in fire_ids)
