from celery import shared_task

from mautomation import health


@shared_task(ignore_result=False)
def ping(nonce: str) -> str:
    """Echo the nonce: a round trip through the broker, a worker and the result backend."""
    return nonce


@shared_task
def heartbeat() -> None:
    health.record_heartbeat()
