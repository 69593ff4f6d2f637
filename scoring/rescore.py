"""Recomputing every score from the activity stream, set-based.

The ledger is rebuilt in one transaction: on PostgreSQL by scoring.rescore_pg
(one pass over the stream, only the differences written), on SQLite by
scoring.rescore_sqlite (one statement per rule). Decay is applied again, then
the leads now over the threshold cross it together (scoring.bulk_crossing).
"""

from dataclasses import dataclass

from django.db import connection, transaction

from scoring import rescore_pg, rescore_sqlite
from scoring.bulk_crossing import cross_all
from scoring.decay import apply_decay
from scoring.models import ScoringSettings


@dataclass
class Rescored:
    entries: int  # rule-made ledger rows
    leads: int  # leads whose cached scores were written
    newly_hot: int


def rescore() -> Rescored:
    """Rebuild the ledger, apply decay, then make MQLs of the leads now over the threshold (one summary alert)."""
    entries, leads = rebuild_ledger()
    apply_decay()
    return Rescored(entries=entries, leads=leads, newly_hot=cross_all())


@transaction.atomic
def rebuild_ledger() -> tuple[int, int]:
    """Rebuild every rule-made ledger row from the activity stream; returns (rule rows, leads whose caches were set)."""
    exclude_opens = ScoringSettings.load().exclude_opens
    builder = rescore_pg if connection.vendor == "postgresql" else rescore_sqlite
    return builder.rebuild(exclude_opens=exclude_opens)
