from celery import shared_task

from leads import stream


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def process_activities(activity_ids: list[int]) -> int:
    """Run the stream's consumers on these events; already-processed ones are skipped."""
    return sum(stream.process(activity_id) for activity_id in activity_ids)


@shared_task
def sweep_activities() -> int:
    """Periodic: process events whose dispatch was lost (broker down, worker killed)."""
    return stream.sweep()
