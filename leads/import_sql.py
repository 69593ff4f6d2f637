"""The import's writes: PostgreSQL fast paths (arrays, COPY, INSERT … SELECT), each with a portable fallback.

Part of the import (leads/importing.py). On PostgreSQL a batch of 2,000 leads costs
a handful of statements whatever it holds: keys travel as one array parameter, new
leads go in with one COPY (their ids drawn first), and their consents and tag links
are one INSERT … SELECT over arrays. SQLite, the embedded default, takes the ORM's
bulk_create, which is fast enough for the files a laptop imports.
"""

import json
from collections.abc import Callable, Iterable
from itertools import islice
from operator import itemgetter

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

    Several times faster than INSERT and as strict about keys. Rows are written in COPY's
    text format by us rather than value by value by psycopg (a third of the COPY's time):
    the text columns of a row are joined and checked for the four characters the format
    escapes (backslash, tab, newline, carriage return), which almost no row holds; other
    columns are converted by their field; what every row shares is formatted once.
    """
    fields = {field.attname: field for field in model._meta.concrete_fields}
    text = [i for i, name in enumerate(columns) if _is_text(fields[name])]
    other = [(i, _copy_encoder(fields[name])) for i, name in enumerate(columns) if i not in text]
    rest = [name for name in fields if name not in columns and not fields[name].primary_key]
    shared = {name: same[name] if name in same else fields[name].get_default() for name in rest}
    tail = "".join(f"\t{_copy_encoder(fields[name])(value)}" for name, value in shared.items()) + "\n"
    names = [fields[columns[i]].column for i in text] + [fields[columns[i]].column for i, _ in other]
    names += [fields[name].column for name in rest]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    text_of, tabs = (itemgetter(*text) if len(text) > 1 else lambda row: (row[text[0]],)), len(text) - 1
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.copy(statement) as copy:
        rows = iter(rows)
        while chunk := list(islice(rows, COPY_CHUNK)):  # sent as made: PostgreSQL stores one while we make the next
            lines = []
            for row in chunk:
                values = text_of(row)
                line = "\t".join(values)
                if line.count("\t") != tabs or "\\" in line or "\n" in line or "\r" in line:
                    line = "\t".join(value.translate(_COPY_ESCAPES) for value in values)
                lines.append("".join([line, *(f"\t{encode(row[i])}" for i, encode in other), tail]))
            copy.write("".join(lines))


COPY_CHUNK = 200  # rows per write, about 60 KB
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _is_text(field: models.Field) -> bool:
    """A column whose values are always strings (never NULL), written as they are."""
    return isinstance(field, models.CharField | models.TextField) and not field.null


def _copy_encoder(field: models.Field) -> Callable[[object], str]:
    """A value of this field in COPY's text format (NULL is \\N)."""
    if isinstance(field, models.JSONField):
        return lambda value: "{}" if value == {} else json.dumps(value).translate(_COPY_ESCAPES)
    if isinstance(field, models.BooleanField):
        return lambda value: "\\N" if value is None else "t" if value else "f"
    if isinstance(field, models.DateTimeField | models.DateField):
        return lambda value: "\\N" if value is None else value.isoformat()
    return lambda value: "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


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
