from celery import shared_task

from scoring import alerts, decay, rescore


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def alert_hot_lead(lead_id: int) -> None:
    """Email the owner, then hand the webhook to its own task so a failing chat endpoint cannot resend the email."""
    alerts.email_owner(lead_id)
    post_hot_lead_webhook.delay(lead_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def post_hot_lead_webhook(lead_id: int) -> None:
    alerts.post_webhook(lead_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def alert_hot_leads_summary(owner_id: int | None, count: int, top_ids: list[int]) -> None:
    """One email for the leads a rescore made hot and gave this owner (None: the marketers)."""
    alerts.email_summary(owner_id=owner_id, count=count, top_ids=top_ids)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def post_hot_leads_summary(count: int, top_ids: list[int]) -> None:
    alerts.post_summary_webhook(count=count, top_ids=top_ids)


@shared_task
def decay_scores() -> int:
    """Periodic: apply the configured decay (also `manage.py decay_scores`)."""
    return decay.apply_decay()


@shared_task
def rescore_all() -> int:
    return rescore.rescore().leads
