"""Handing messages to an SMTP server when the database fails at the moment of the commit."""

import pytest
from django.db import OperationalError

from campaigns import sending
from campaigns.models import Send
from tests.factories import make_lead, make_template
from tests.smtp_sink import start_sink

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    sink, controller = start_sink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    yield sink
    controller.stop()


def _pending(email: str) -> Send:
    lead = make_lead(email, consent=True)
    return Send.objects.create(source="test", lead=lead, email=lead.email, status=Send.Status.PENDING)


def test_a_database_error_at_the_commit_drops_the_message_and_closes_the_connection(sender, smtp, monkeypatch):
    """PostgreSQL restarting under a worker: the message whose "sent" mark failed is never accepted by the
    server, the connection is closed rather than left open mid-DATA, and the claim stays for the sweeper."""
    send = _pending("commit-fails@example.com")
    run = sending.Run(template=make_template())

    def database_gone(*args) -> bool:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(run, "_commit", database_gone)
    with pytest.raises(OperationalError):
        run.deliver([send.pk])
    assert run.transport.conn is None
    run.close()

    assert smtp.total == 0
    assert Send.objects.get(pk=send.pk).status == Send.Status.CLAIMED  # recover_sends returns it to pending


def test_closing_a_run_closes_its_connection_even_when_the_database_is_gone(sender, smtp, monkeypatch):
    send = _pending("close@example.com")
    run = sending.Run(template=make_template())
    run.deliver([send.pk])
    assert smtp.total == 1 and run.transport.conn is not None

    def database_gone(on: bool) -> None:
        raise OperationalError("the connection is closed")

    monkeypatch.setattr(sending, "_commit_without_flush", database_gone)
    with pytest.raises(OperationalError):
        run.close()
    assert run.transport.conn is None
