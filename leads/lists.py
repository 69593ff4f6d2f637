"""Static list membership: adding and removing leads in one statement, whatever the selection's size.

Every path (admin action, import, API) goes through here, so each membership
records when, by whom and how it was added: automation's "joined a list" trigger
reads ListMembership.added_at.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.models import Lead, LeadList, ListMembership
from mautomation.lib.normalize import email_key


def add_to_list(*, lead_list: LeadList | int, leads: QuerySet, source: str, user_id: int | None = None) -> int:
    """Add the leads (a queryset: never loaded into Python) to the list; returns how many were new."""
    chosen_sql, params = leads.order_by().values("id").query.sql_with_params()
    table = connection.ops.quote_name(ListMembership._meta.db_table)
    # WHERE true: SQLite's parser needs it between INSERT … SELECT and ON CONFLICT.
    sql = (
        f"INSERT INTO {table} (lead_list_id, lead_id, added_at, added_by_id, source) "
        f"SELECT %s, chosen.id, %s, %s, %s FROM ({chosen_sql}) AS chosen WHERE true "
        "ON CONFLICT (lead_list_id, lead_id) DO NOTHING"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [getattr(lead_list, "pk", lead_list), timezone.now(), user_id, source, *params])
        return cursor.rowcount


def remove_from_list(*, lead_list: LeadList, leads: QuerySet) -> int:
    """Remove the leads from the list; returns how many were members."""
    deleted, _by_model = ListMembership.objects.filter(lead_list=lead_list, lead__in=leads.values("pk")).delete()
    return deleted


@dataclass(frozen=True)
class Resolved:
    leads: QuerySet
    missing: list[object]  # the ids and emails that match no lead, as given


def resolve_leads(*, ids: Iterable[int] = (), emails: Iterable[str] = ()) -> Resolved:
    """The leads named by id or email (matched on the email key), and what matched nothing."""
    ids, keys = set(ids), {email_key(email): email for email in emails}
    found = Lead.objects.filter(Q(pk__in=ids) | Q(email_key__in=list(keys)))
    known = set(found.values_list("pk", "email_key"))
    known_ids, known_keys = {pk for pk, _key in known}, {key for _pk, key in known}
    missing = sorted(ids - known_ids) + [email for key, email in keys.items() if key not in known_keys]
    return Resolved(leads=found, missing=missing)
