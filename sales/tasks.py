from celery import shared_task

from sales import digest, webhooks


@shared_task(bind=True, max_retries=webhooks.MAX_ATTEMPTS)
def deliver_webhook(self, delivery_id: int) -> None:
    """One attempt; until the delivery is delivered or failed for good, retry with exponential backoff."""
    if not webhooks.attempt(delivery_id):
        attempts = webhooks.WebhookDelivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)
        raise self.retry(countdown=webhooks.backoff_seconds(attempts))


@shared_task
def send_hot_lead_digest() -> int:
    """Periodic (hourly): today's digest per owner, once, from the configured local hour on."""
    return digest.send_due()


@shared_task
def send_pending_webhooks() -> int:
    """Periodic: deliveries whose dispatch or retry was lost go to a worker again."""
    return webhooks.resend_stalled()
