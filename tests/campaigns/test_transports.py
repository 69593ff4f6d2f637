"""Handing messages to an SMTP server: DATA framing, base64 lines, and a database failing at the commit."""

import base64
import re

import pytest
from django.db import OperationalError
from hypothesis import given
from hypothesis import strategies as st

from campaigns import composing, sending, transports
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


@given(st.text())
def test_base64_parts_are_the_standard_76_character_crlf_lines(text):
    assert composing._b64(text) == base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")


@given(st.lists(st.sampled_from([b".", b"..", b"a", b"\r\n", b"\n", b".\r\n", b" ."]), max_size=30).map(b"".join))
def test_every_line_that_starts_with_a_dot_gets_a_second_one(data):
    """RFC 5321 4.5.2, whatever the message: the quick check never skips a line the full rule would stuff."""
    assert transports.dot_stuffed(data) == re.sub(rb"(?m)^\.", b"..", data)


def test_a_message_line_starting_with_a_dot_reaches_the_server_intact(sender, smtp):
    smtp.keep = 1
    send = _pending("dots@example.com")
    run = sending.Run(template=make_template())
    real_mime = run.composer.mime_bytes
    dotted = (b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\n.X-Dot: 1\r\n")
    run.composer.mime_bytes = lambda out: real_mime(out).replace(*dotted)
    run.deliver([send.pk])
    run.close()
    assert smtp.total == 1
    assert smtp.kept[0][".X-Dot"] == "1"  # one dot, as written: stuffed on the wire, unstuffed by the server


# --- PostgreSQL: the mark is committed before the final dot (campaigns/marking.py) ---------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)  # a run outside any transaction, as in a worker
def test_on_postgresql_another_connection_sees_the_mark_before_the_dot_leaves(sender, smtp, monkeypatch):
    """A worker killed after the dot can never leave its message unrecorded (and so sent again)."""
    import psycopg
    from django.db import connection

    assert connection.vendor == "postgresql"
    sends = [_pending(f"marked{n}@example.com") for n in range(3)]
    run = sending.Run(template=make_template())
    seen = []
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    observer = psycopg.connect(**params, autocommit=True)
    real_data = run.transport._data

    def look_before_the_dot(data, *, commit):
        def commit_then_look() -> bool:
            committed = commit()
            row = observer.execute("SELECT status FROM campaigns_send WHERE message_id <> '' ORDER BY id").fetchall()
            seen.append([status for (status,) in row])
            return committed

        return real_data(data, commit=commit_then_look)

    monkeypatch.setattr(run.transport, "_data", look_before_the_dot)
    try:
        run.deliver([send.pk for send in sends])
        run.close()
    finally:
        observer.close()
    assert seen == [["sent"], ["sent", "sent"], ["sent", "sent", "sent"]]
    assert smtp.total == 3
