"""Handing one message to the mail system, over one connection kept for a whole batch.

`send(out, commit=…)` calls `commit()` at the last moment before the message
becomes irrevocable, and gives up if it returns False (the claim was taken
away):

- SMTP (ESP=smtp): the whole message is written inside DATA, then `commit()`
  records it as sent, and only then the final "." makes the server accept it.
  A worker killed before the commit leaves a message the server discards with
  the connection, so its claim can safely be sent again.
- Any other backend (anymail's ESP APIs, file, console, locmem): `commit()`
  records "handed" before the call, because an API call cannot be split.
"""

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import get_connection

from campaigns.composing import Composer, Outgoing


@dataclass(frozen=True)
class Outcome:
    kind: str  # "sent", "temporary", "permanent" or "lost" (the claim was taken away)
    error: str = ""
    message_id: str = ""


SENT, TEMPORARY, PERMANENT, LOST = "sent", "temporary", "permanent", "lost"
_DOT_START = re.compile(rb"(?m)^\.")


def for_settings(composer: Composer) -> "SmtpTransport | BackendTransport":
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        return SmtpTransport(composer)
    return BackendTransport(composer)


class SmtpTransport:
    two_phase = True  # commit() marks the message sent, before the final dot

    def __init__(self, composer: Composer):
        self.composer = composer
        self.envelope_from = parseaddr(composer.from_email)[1]
        self.conn: smtplib.SMTP | None = None

    def open(self) -> None:
        kind = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
        self.conn = kind(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=settings.EMAIL_TIMEOUT)
        # The final dot goes out alone, after the commit: without TCP_NODELAY, Nagle's algorithm would hold
        # it until the server's delayed ACK (~40 ms a message).
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn.ehlo_or_helo_if_needed()
        if settings.EMAIL_USE_TLS:
            self.conn.starttls(context=ssl.create_default_context())
            self.conn.ehlo()
        if settings.EMAIL_HOST_USER:
            self.conn.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()  # no QUIT: after an aborted DATA, the server must see the connection drop
            finally:
                self.conn = None

    def send(self, out: Outgoing, *, commit: Callable[[], bool]) -> Outcome:
        if not out.to.isascii():  # smtplib would raise mid-envelope (no SMTPUTF8) and fail the whole batch
            return Outcome(PERMANENT, "the address is not ASCII: SMTP cannot carry it without SMTPUTF8")
        data = self.composer.mime_bytes(out)
        try:
            if self.conn is None:
                self.open()
            refused = self._envelope(out.to)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome(TEMPORARY, f"connection: {exc}"[:500])
        if refused:
            return refused
        return self._data(data, commit=commit)

    def _envelope(self, to: str) -> Outcome | None:
        for command, args, accepted in (("mail", (self.envelope_from,), (250,)), ("rcpt", (to,), (250, 251))):
            code, reply = getattr(self.conn, command)(*args)
            if code not in accepted:
                self.conn.rset()
                return _refusal(code, reply)
        code, reply = self.conn.docmd("data")
        if code != 354:
            self.conn.rset()
            return _refusal(code, reply)
        return None

    def _data(self, data: bytes, *, commit: Callable[[], bool]) -> Outcome:
        try:
            self.conn.send(dot_stuffed(data))
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome(TEMPORARY, f"connection: {exc}"[:500])
        try:
            committed = commit()
        except BaseException:  # the database went away: drop the unfinished message with the connection
            self.close()
            raise
        if not committed:
            self.close()  # the server drops the unfinished message
            return Outcome(LOST)
        try:
            self.conn.send(b".\r\n")
        except (smtplib.SMTPException, OSError) as exc:  # the server had gone: it never got the dot
            self.close()
            return Outcome(TEMPORARY, f"connection: {exc}"[:500])
        try:
            code, reply = self.conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()  # the dot left: the server may have accepted it, so it counts as sent (at most once)
            return Outcome(SENT, f"no reply after the message: {exc}"[:500])
        return Outcome(SENT) if code == 250 else _refusal(code, reply)


class BackendTransport:
    two_phase = False  # commit() marks the message handed over, before the backend call

    def __init__(self, composer: Composer):
        self.composer = composer
        self.connection = get_connection(fail_silently=False)

    def open(self) -> None:
        self.connection.open()

    def close(self) -> None:
        self.connection.close()

    def send(self, out: Outgoing, *, commit: Callable[[], bool]) -> Outcome:
        message = self.composer.django_message(out, connection=self.connection)
        if not commit():
            return Outcome(LOST)
        try:
            message.send()
        except Exception as exc:  # every backend raises its own kinds
            return Outcome(_error_kind(exc), f"{type(exc).__name__}: {exc}"[:500])
        status = getattr(message, "anymail_status", None)
        if status is not None and status.status and status.status <= {"rejected", "invalid"}:
            return Outcome(PERMANENT, f"rejected by the ESP: {sorted(status.status)}")
        message_id = getattr(status, "message_id", None) if status is not None else None
        return Outcome(SENT, message_id=str(message_id or out.headers["Message-ID"])[:255])


def dot_stuffed(data: bytes) -> bytes:
    """DATA framing (RFC 5321 4.5.2): a line that starts with "." gets a second one.

    Checked first with two plain searches: base64 bodies and header lines never start with
    a dot, and the regex would cost a sixth of a millisecond on every 60 KB message.
    """
    if not data.startswith(b".") and b"\n." not in data:
        return data
    return _DOT_START.sub(b"..", data)


def _error_kind(exc: Exception) -> str:
    from anymail.exceptions import AnymailRecipientsRefused

    if isinstance(exc, AnymailRecipientsRefused | smtplib.SMTPRecipientsRefused):
        return PERMANENT
    # An SMTP 5xx is a refusal; an ESP API's HTTP 5xx is its outage, so only SMTP codes count here.
    code = getattr(exc, "smtp_code", None)
    return _kind_of_code(code) if isinstance(code, int) else TEMPORARY


def _refusal(code: int, reply: bytes) -> Outcome:
    text = f"{code} {reply.decode(errors='replace')}"[:500]
    return Outcome(_kind_of_code(code), text)


def _kind_of_code(code: int) -> str:
    # 500-503 are syntax and sequence errors (a fault of the conversation, not of the address): retried,
    # and a campaign where they persist pauses itself; any other 5xx refuses the address for good.
    return PERMANENT if 504 <= code < 600 else TEMPORARY
