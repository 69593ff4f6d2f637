"""/healthz reports the database, the broker and the worker heartbeat."""

import pytest
from django.db import OperationalError

from mautomation import health
from mautomation.celery import app as celery_app
from mautomation.tasks import heartbeat, ping

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error:")


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError: connection refused"


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def test_worker_status_follows_the_heartbeat_task(client):
    assert client.get("/healthz").json()["worker"] == {"status": "no heartbeat yet"}
    heartbeat.delay()
    worker = client.get("/healthz").json()["worker"]
    assert worker["status"] == "ok"
    assert 0 <= worker["last_heartbeat_age_s"] < 5


def test_stale_heartbeat_is_reported(monkeypatch):
    health.record_heartbeat()
    real_time = health.time.time
    monkeypatch.setattr(health.time, "time", lambda: real_time() + health.HEARTBEAT_STALE_AFTER + 1)
    assert health.worker_status()["status"] == "stale"


def test_ping_task_echoes_its_nonce():
    assert ping.delay("abc").get(timeout=1) == "abc"
