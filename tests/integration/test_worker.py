"""Tier 2: tasks go through the real Redis broker to a real Celery worker process."""

import pytest
from django.core.management import call_command

from mautomation import health
from mautomation.tasks import heartbeat, ping

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_ping_round_trip_through_the_broker(celery_worker):
    assert ping.delay("round-trip").get(timeout=20) == "round-trip"


def test_worker_ping_command_reports_the_round_trip(celery_worker, capsys):
    call_command("worker_ping", "--timeout", "20")
    assert "worker answered in" in capsys.readouterr().out


def test_heartbeat_written_by_the_worker_is_seen_by_the_web_side(celery_worker):
    from django.core.cache import cache

    cache.delete(health.HEARTBEAT_KEY)
    heartbeat.delay()
    ping.delay("after-heartbeat").get(timeout=20)  # the solo worker runs tasks in order
    assert health.worker_status()["status"] == "ok"


def test_healthz_reports_redis_broker_ok(client, celery_worker):
    assert client.get("/healthz").json()["broker"] == "ok"
