"""The import's rows: checking a batch of records and merging rows of one email (no database).

Part of the import (leads/importing.py). A good row keeps, besides its values, what it
gives when it alone makes a new lead (`Fresh`: its text columns, phone key, company
lookup, tags and custom values). Most rows of a file are such rows, and computing this
here lets the run do it for the next batch while PostgreSQL commits the current one.
"""

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _

from leads.companies import company_domain_of_key
from leads.import_files import SPLIT, Columns, Record
from leads.upsert import Outcome
from leads.validation import CUSTOM_PREFIX, TEXT_FIELDS, clean_lead_row
from mautomation.lib.normalize import company_key, phone_key
from mautomation.lib.spreadsheet_cells import unquote

TAG_PREFIX = "tag:"
_TEXT = tuple(TEXT_FIELDS)
_PHONE, _COMPANY = _TEXT.index("phone"), _TEXT.index("company_name")


class Parsed(NamedTuple):
    """A batch checked: its good rows, its problems as (line, column, reason), and its checkpoint."""

    rows: list["Row"]
    errors: list[tuple[int, str, str]]
    end: int  # rows_done once the batch is written: the data lines up to its last record


class Fresh(NamedTuple):
    """A lead's values as a new lead takes them."""

    texts: tuple[str, ...]  # TEXT_FIELDS in order, "" when empty
    phone_key: str
    company: tuple  # company_lookup's (lookup, display name)
    tags: list[str]
    custom: dict  # non-empty custom values

    @classmethod
    def of(cls, key: str, texts: tuple[str, ...], tags: list[str], custom: dict) -> "Fresh":
        phone = texts[_PHONE]
        return cls(texts, phone_key(phone) if phone else "", company_lookup(key, texts[_COMPANY]), tags, custom)

    @classmethod
    def of_flat(cls, key: str, flat: dict) -> "Fresh":
        text, custom, tags = split_flat(flat)
        return cls.of(key, tuple([text.get(name, "") for name in _TEXT]), tags, custom)

    def flat(self) -> dict:
        """The non-empty values as merge() compares them: TEXT_FIELDS, "custom:KEY" and "tag:NAME" -> True."""
        flat = {name: value for name, value in zip(_TEXT, self.texts, strict=True) if value}
        flat.update((f"{CUSTOM_PREFIX}{name}", value) for name, value in self.custom.items())
        flat.update((f"{TAG_PREFIX}{tag}", True) for tag in self.tags)
        return flat


class Row(NamedTuple):
    line: int
    email: str
    key: str
    fresh: Fresh


@dataclass(slots=True)
class Merged:
    """One email's rows in a batch, merged over what is stored."""

    key: str
    email: str
    stored: dict | None  # the lead's id, company_id and flat values; None when new
    final: dict | None  # the merged flat values; None for a new lead of one row, whose `fresh` says it all
    changed: set[str]
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    fresh: Fresh | None = None

    def as_new(self) -> Fresh:
        return self.fresh or Fresh.of_flat(self.key, self.final)


def company_lookup(key: str, name: str) -> tuple[tuple[str, str] | None, str]:
    """Same domain, same company; without one (free mail), the name key decides; with neither, none."""
    if domain := company_domain_of_key(key):
        return (domain, ""), name.strip() or domain
    name_key = company_key(name)
    return (("", name_key) if name_key else None), name.strip()


def parse_batch(records: list[Record], columns: Columns) -> Parsed:
    """The good rows, and (line, column, reason) for every problem; blank rows are skipped."""
    rows, errors = [], []
    for record in records:
        if record.cells is None:
            errors.append((record.line, "", record.problem))
        elif not "".join(record.cells).strip():
            continue
        elif len(record.cells) != columns.width:
            counts = {"count": len(record.cells), "width": columns.width}
            errors.append((record.line, "", _("has %(count)d columns, the header has %(width)d") % counts))
        else:
            raw = raw_values(record.cells, columns)
            values, key, problems = clean_lead_row(raw, custom_fields=columns.custom_fields)
            errors += [(record.line, columns.headers.get(name, name), reason) for name, reason in problems]
            if not problems:
                texts = tuple([values.get(name) or "" for name in _TEXT])
                custom = {name: value for name, value in values["custom"].items() if value != ""}
                fresh = Fresh.of(key, texts, values.get("tags") or [], custom)
                rows.append(Row(record.line, values["email"], key, fresh))
    return Parsed(rows, errors, records[-1].end - 1)


def raw_values(cells: list[str], columns: Columns) -> dict[str, str]:
    raw = {}
    for index, target in columns.targets:
        cell = cells[index]
        if not cell:
            continue
        cell = unquote(cell)  # the quote our export adds against formula injection
        if target in SPLIT:
            raw.update(zip(SPLIT[target], [*re.split(r"[ \u3000]+", cell.strip(), maxsplit=1), ""][:2], strict=True))
        else:
            raw[target] = cell
    return raw


def merge(rows: list[Row], stored: dict | None) -> Merged:
    """Later non-empty values win; a row is "updated" when a value it brought is kept and is new."""
    first = rows[0]
    if stored is None and len(rows) == 1:  # most rows: kept cheap
        return Merged(first.key, first.email, None, None, set(), {first.line: Outcome.CREATED}, first.fresh)
    flats = [row.fresh.flat() for row in rows]
    if stored is not None and len(rows) == 1 and flats[0].items() <= stored["flat"].items():  # a re-import
        return Merged(first.key, first.email, stored, stored["flat"], set(), {first.line: Outcome.UNCHANGED})
    reference = stored["flat"] if stored else flats[0]
    final, winner = dict(reference), {}
    for row, flat in zip(rows, flats, strict=True):
        final.update(flat)
        winner.update(dict.fromkeys(flat, row.line))
    changed = {name for name in winner if final[name] != reference.get(name)}
    merged = Merged(first.key, first.email, stored, final, changed)
    merged.outcomes = dict.fromkeys((row.line for row in rows), Outcome.UNCHANGED)
    merged.outcomes.update(dict.fromkeys((winner[name] for name in changed), Outcome.UPDATED))
    if stored is None:
        merged.outcomes[first.line] = Outcome.CREATED
    return merged


def group_by_key(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.key, []).append(row)
    return groups


def split_flat(flat: dict) -> tuple[dict, dict, list[str]]:
    """Flat values back into text fields, the custom dict and tag names."""
    text = {name: value for name, value in flat.items() if name in TEXT_FIELDS}
    custom = {name.removeprefix(CUSTOM_PREFIX): v for name, v in flat.items() if name.startswith(CUSTOM_PREFIX)}
    return text, custom, [name.removeprefix(TAG_PREFIX) for name in flat if name.startswith(TAG_PREFIX)]


def tag_names(flat: dict) -> list[str]:
    return [name[len(TAG_PREFIX) :] for name in flat if name.startswith(TAG_PREFIX)]
