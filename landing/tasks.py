from celery import shared_task

from landing import followups


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_followups(submission_id: int) -> bool:
    """A submission's auto-reply, staff notification and opt-in confirmation; a repeat sends nothing."""
    return followups.send_followups(submission_id)


@shared_task
def sweep_followups() -> int:
    """Periodic: send the follow-ups whose task was never enqueued or never ran (broker down)."""
    return followups.sweep()
