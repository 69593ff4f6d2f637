"""Automation tasks: thin wrappers over campaigns/automation.py (see the `dispatch_due_steps` command)."""

from celery import shared_task

from campaigns import automation


@shared_task
def dispatch_due_steps(entries: bool = True) -> dict:
    """Periodic: list/segment entries, due steps, due fires, stragglers; right after an enrollment due now,
    only the due steps and fires (`entries=False`)."""
    return automation.run_due(entries=entries)


@shared_task
def run_fires(fire_ids: list[int]) -> int:
    """Trigger fires due now, right after the event that fired them was processed."""
    return automation.run_fires(fire_ids=fire_ids)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def deliver_sends(template_id: int, sources: list[str]) -> int:
    """Step emails queued by the dispatcher; safe to run twice, the send claims decide."""
    from campaigns.automation_sending import deliver_sources

    return deliver_sources(template_id=template_id, sources=sources)
