from celery import shared_task

from campaigns import events, sending


@shared_task
def dispatch_email_hits() -> int:
    """Periodic: hand recorded opens and clicks to the stream's consumers in batches."""
    return events.dispatch_hits()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_batch(campaign_id: int, after_id: int) -> None:
    """One batch of a broadcast (keyset: rows after `after_id`); safe to run twice, claims decide."""
    sending.run_batch(campaign_id=campaign_id, after_id=after_id)


@shared_task
def start_due_campaigns() -> int:
    """Periodic: start the scheduled campaigns whose time has come."""
    return sending.start_due()


@shared_task
def recover_sends() -> dict:
    """Periodic: resolve claims left by dead workers and restart campaigns whose runs went quiet."""
    return sending.recover()
