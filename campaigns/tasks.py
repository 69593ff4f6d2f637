from celery import shared_task

from campaigns import events


@shared_task
def dispatch_email_hits() -> int:
    """Periodic: hand recorded opens and clicks to the stream's consumers in batches."""
    return events.dispatch_hits()
