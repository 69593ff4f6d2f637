"""One periodic pass of the automation, shared by the Celery task and the `dispatch_due_steps` command."""

from datetime import datetime

from django.utils import timezone

from campaigns.automation_sending import deliver_sources, redeliver_pending
from campaigns.reactions import enter_from_lists_and_segments
from campaigns.step_dispatch import dispatch_due
from campaigns.triggers import due_fires, run_fire


def run_due(*, now: datetime | None = None, deliver: bool = True) -> dict:
    """Entries from lists and segments, due steps (delivered now), due trigger fires, stragglers."""
    now = now or timezone.now()
    entered = enter_from_lists_and_segments(now=now)
    dispatched = dispatch_due(now=now)
    sent = 0
    if deliver:
        for template_id, sources in dispatched.sources.items():
            sent += deliver_sources(template_id=template_id, sources=sources)
    fires = run_fires(fire_ids=due_fires(now=now), now=now)
    resent = redeliver_pending() if deliver else 0
    return {"entered": entered, "steps": dispatched.steps, "exited": dispatched.exited, "sent": sent,
            "fires": fires, "redelivered": resent}  # fmt: skip


def run_fires(*, fire_ids: list[int], now: datetime | None = None) -> int:
    return sum(bool(run_fire(fire_id=pk, now=now)) for pk in fire_ids)
