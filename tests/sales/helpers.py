"""Builders for the sales tests: hot leads with a ledger, and users of every role."""

from datetime import timedelta

from django.utils import timezone

from leads.models import Lead
from mautomation.roles import MARKETER, SALES
from scoring.models import ScoreEntry
from tests.factories import make_lead, make_user

ROLES = ("anonymous", "sales", "other_sales", "marketer", "superuser")


def hot_lead(email: str = "hot@example.co.jp", *, score: int = 60, owner=None, reasons=("資料請求",), **fields) -> Lead:
    """An MQL whose score is the sum of ledger rows with these reasons."""
    lead = make_lead(email, stage=Lead.Stage.MQL, owner=owner, mql_at=timezone.now() - timedelta(hours=1), **fields)
    share = score // len(reasons)
    for n, reason in enumerate(reasons):
        ScoreEntry.objects.create(lead=lead, kind=ScoreEntry.Kind.MANUAL, window=f"t{n}", points=share, reason=reason)
    Lead.objects.filter(pk=lead.pk).update(score=share * len(reasons))
    lead.refresh_from_db()
    return lead


def users() -> dict:
    """One user per role; sales users are not staff, as in real use."""
    return {
        "anonymous": None,
        "sales": make_user("sales1", role=SALES, staff=False),
        "other_sales": make_user("sales2", role=SALES, staff=False),
        "marketer": make_user("marketer1", role=MARKETER),
        "superuser": make_user("root", superuser=True),
    }
