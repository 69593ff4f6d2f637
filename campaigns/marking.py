"""Marking a claimed Send as handed over, at the last moment before a message becomes irrevocable.

Part of the sending path (campaigns/sending.py, campaigns/transports.py). The mark is
one UPDATE on the row we claimed, committed on its own; its SQL is written once (the
ORM would compile it for every message). A claim taken away meanwhile (a worker that
stalled past the claim timeout) updates nothing, and then nothing is sent.

SMTP: the mark ("sent") is committed and its answer read before the final "." goes out.
A killed worker therefore leaves either no mark (the server discards the unfinished
message with the dropped connection; the sweeper sends it again) or the mark, with the
dot sent or about to be. The gap between the database's commit and our dot (its answer
reaching us, then one write) is the one window SMTP leaves: a kill there records as
sent a message the server never accepted. At most once, never twice. Sending the dot
before the commit's answer would narrow that gap but open a worse one: a database
restart that drops the in-flight COMMIT after the dot left would send the message again.
"""

from django.db import connection
from django.utils import timezone

from campaigns.models import Send

_CLAIMED_BY = f"WHERE id = %s AND claim_token = %s AND status = '{Send.Status.CLAIMED}'"
_SENT = f"UPDATE {Send._meta.db_table} SET status = '{Send.Status.SENT}', sent_at = %s, message_id = %s {_CLAIMED_BY}"
_HANDING = f"UPDATE {Send._meta.db_table} SET status = '{Send.Status.HANDING}', claimed_at = %s {_CLAIMED_BY}"


def mark_handing(*, send_id: int, token: str) -> bool:
    """Mark our claim "handing" (committed) before an API call; False when the claim is no longer ours."""
    return _mark(_HANDING, [_now(), send_id, token])


def mark_sent(*, send_id: int, token: str, message_id: str) -> bool:
    """Mark our claim "sent" (committed) just before the final dot; False when the claim is no longer ours."""
    return _mark(_SENT, [_now(), message_id, send_id, token])


def _mark(sql: str, params: list) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _now() -> object:
    return connection.ops.adapt_datetimefield_value(timezone.now())
