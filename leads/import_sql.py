"""The import's writes: PostgreSQL fast paths (arrays, COPY, INSERT … SELECT), each with a portable fallback.

Part of the import (leads/importing.py). On PostgreSQL a batch of 2,000 leads costs
a handful of statements whatever it holds: keys travel as one array parameter, new
leads go in with one COPY (their ids drawn first), and their consents and tag links
are one INSERT … SELECT over arrays. SQLite, the embedded default, takes the ORM's
bulk_create, which is fast enough for the files a laptop imports.
"""

import json
from collections.abc import Iterable

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from psycopg import sql

from leads.models import Consent, Lead


def postgres() -> bool:
    return connection.vendor == "postgresql"


def among(model: type[models.Model], column: str, values: list) -> Q:
    """column IN values; on PostgreSQL as = ANY(one array): 2,000 placeholders cost more than the query."""
    if not postgres():
        return Q(**{f"{column}__in": values})
    field = model._meta.get_field(column)
    numeric = isinstance(getattr(field, "target_field", field), models.IntegerField)
    array, params = pg_array(values, kind="bigint" if numeric else "text")
    quote = connection.ops.quote_name
    return Q(
        RawSQL(f"{quote(model._meta.db_table)}.{quote(field.column)} = ANY({array})", params, models.BooleanField())
    )


def pg_array(values: list, *, kind: str) -> tuple[str, list]:
    """SQL for an array parameter, and the parameter: psycopg would quote a list element by element, 3 µs each."""
    if kind == "bigint":
        return "%s::bigint[]", ["{" + ",".join(map(str, values)) + "}"]
    if not any("\n" in value for value in values):  # email keys, domains and name keys never hold one
        return "string_to_array(%s, chr(10))", ["\n".join(values)]
    return "%s::text[]", [values]


def stored_rows(keys: list[str], *, columns: list[str], lock: bool) -> Iterable[tuple]:
    """(id, email_key, company_id, *columns) of the leads with these keys, locked in key order."""
    columns = ["id", "email_key", "company_id", *columns]
    if not postgres():
        leads = Lead.objects.filter(email_key__in=keys).order_by("email_key")
        return (leads.select_for_update() if lock else leads).values_list(*columns)
    # One index probe per key: "email_key = ANY(...)", or a plain join, lets the planner scan the whole
    # table per batch (its statistics lag behind a table the import is filling); LIMIT 1 keeps the probe.
    select = ", ".join(f"lead.{connection.ops.quote_name(name)}" for name in columns)
    probe = f"SELECT * FROM leads_lead WHERE email_key = k.key LIMIT 1{' FOR UPDATE' if lock else ''}"
    array, params = pg_array(keys, kind="text")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM unnest({array}) AS k(key), LATERAL ({probe}) AS lead", params)
        rows = cursor.fetchall()
    if columns[-1] != "custom":
        return rows
    return [(*row[:-1], json.loads(row[-1]) if isinstance(row[-1], str) else row[-1]) for row in rows]


def insert_leads(columns: list[str], rows: list[tuple], *, same: dict) -> list[int]:
    """Insert new leads, each a tuple of `columns`, all with the values `same`; their ids, in order."""
    if not postgres() or not rows:
        leads = [Lead(**dict(zip(columns, row, strict=True)), **same) for row in rows]
        return [lead.pk for lead in Lead.objects.bulk_create(leads)]
    with connection.cursor() as cursor:  # the sequence is looked up once: per row, the lookup costs 5 µs
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq)"
            " SELECT nextval(seq) FROM s, generate_series(1, %s)",
            ["leads_lead", len(rows)],
        )
        ids = [lead_id for (lead_id,) in cursor.fetchall()]
    copy_rows(Lead, ["id", *columns], ((lead_id, *row) for lead_id, row in zip(ids, rows, strict=True)), same=same)
    return ids


def copy_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple], *, same: dict) -> None:
    """COPY tuples of `columns` into the model's table; other columns take `same` or the field's default.

    Several times faster than INSERT and as strict about keys. JSON values travel as text
    (COPY parses them); a Jsonb wrapper per value would double the cost.
    """
    fields = {field.attname: field for field in model._meta.concrete_fields if not field.primary_key}
    rest = [name for name in fields if name not in columns]
    tail = tuple(_copy_value(fields[name], same[name] if name in same else fields[name].get_default()) for name in rest)
    json_at = [i for i, name in enumerate(columns) if isinstance(fields.get(name), models.JSONField)]
    names = [model._meta.get_field(name).column for name in [*columns, *rest]]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.copy(statement) as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = "{}" if row[i] == {} else json.dumps(row[i])
            copy.write_row((*row, *tail))


def _copy_value(field: models.Field, value: object) -> object:
    return json.dumps(value) if isinstance(field, models.JSONField) else value


def grant_consents(lead_ids: list[int], *, method: str, source: str, granted_at: object) -> None:
    """One consent per new lead, all alike: on PostgreSQL one INSERT … SELECT over the ids."""
    if not postgres():
        grant = {"method": method, "source": source, "granted_at": granted_at}
        Consent.objects.bulk_create([Consent(lead_id=lead_id, **grant) for lead_id in lead_ids])
        return
    array, params = pg_array(lead_ids, kind="bigint")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_consent (lead_id, method, wording, source, granted_at, revoked_reason)"
            f" SELECT lead_id, %s, '', %s, %s, '' FROM unnest({array}) AS lead_id",
            [method, source, granted_at, *params],
        )


def insert_links(pairs: list[tuple[int, int]], *, existing: bool) -> None:
    """(lead id, tag id) links; `existing` when some may be there already (they are then left alone)."""
    link = Lead.tags.through
    if not postgres():
        link.objects.bulk_create([link(lead_id=lead, tag_id=tag) for lead, tag in pairs], ignore_conflicts=existing)
        return
    leads, lead_params = pg_array([lead for lead, _tag in pairs], kind="bigint")
    tags, tag_params = pg_array([tag for _lead, tag in pairs], kind="bigint")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO leads_lead_tags (lead_id, tag_id) SELECT * FROM unnest({leads}, {tags})"
            + " ON CONFLICT DO NOTHING" * existing,
            [*lead_params, *tag_params],
        )
