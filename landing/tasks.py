from celery import shared_task

from landing import followups, ingesting


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_followups(submission_id: int) -> bool:
    """A submission's auto-reply, staff notification and opt-in confirmation; a repeat sends nothing."""
    return followups.send_followups(submission_id)


@shared_task
def ingest_submissions() -> int:
    """Make the leads, consents and activities of the submissions saved since the last run."""
    return ingesting.ingest_pending()


@shared_task
def sweep_followups() -> int:
    """Periodic: ingest the submissions and send the follow-ups whose task never ran (broker down)."""
    ingesting.ingest_pending(older_than=ingesting.SWEEP_AFTER)
    return followups.sweep()
