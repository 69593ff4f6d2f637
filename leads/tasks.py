from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from leads import importing, stream
from leads.models import ImportJob
from mautomation.lib.enqueue import try_enqueue


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def process_activities(activity_ids: list[int]) -> int:
    """Run the stream's consumers on these events; already-processed ones are skipped."""
    return stream.process_many(activity_ids)


@shared_task
def sweep_activities() -> int:
    """Periodic: process events whose dispatch was lost (broker down, worker killed)."""
    return stream.sweep()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def import_leads_job(job_id: int) -> None:
    """Run one uploaded CSV import, or resume it from its checkpoint (which is what a retry does)."""
    job = ImportJob.objects.get(pk=job_id)
    options = importing.Options(
        consent=job.consent_method or None, source=job.source, lead_list_id=job.lead_list_id, user_id=job.created_by_id
    )
    importing.run_import(job=job, options=options)


@shared_task
def start_pending_imports() -> int:
    """Periodic: start uploads whose task never reached a worker (the broker was down)."""
    return start_pending(older_than=timedelta(minutes=2))


def start_pending(*, older_than: timedelta) -> int:
    stale = ImportJob.objects.filter(status=ImportJob.Status.PENDING, started_at__lt=timezone.now() - older_than)
    ids = list(stale.values_list("pk", flat=True)[:100])
    return sum(try_enqueue(import_leads_job, (job_id,), what=f"import {job_id}") for job_id in ids)
