"""What /healthz reports: the database, the broker, and the last worker heartbeat."""

import time

from django.core.cache import cache
from django.db import connection

from mautomation.celery import app as celery_app

HEARTBEAT_KEY = "worker-heartbeat"
HEARTBEAT_STALE_AFTER = 120  # seconds; beat schedules a heartbeat every 30


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "down"; the message says why
        return f"error: {exc.__class__.__name__}: {exc}"[:300]


def broker_status() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}: {exc}"[:300]


def record_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def worker_status() -> dict:
    """Age of the last heartbeat written by the worker; informative, not fatal."""
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception as exc:
        return {"status": f"unknown: {exc.__class__.__name__}"}
    if last is None:
        return {"status": "no heartbeat yet"}
    age = round(time.time() - last, 1)
    return {"status": "ok" if age < HEARTBEAT_STALE_AFTER else "stale", "last_heartbeat_age_s": age}


def report() -> tuple[dict, bool]:
    """The health report and whether the required parts (database, broker) are up."""
    result = {"database": database_status(), "broker": broker_status(), "worker": worker_status()}
    return result, result["database"] == "ok" and result["broker"] == "ok"
