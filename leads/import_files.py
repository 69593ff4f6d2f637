"""Reading a CSV file of leads: its encoding, its records and its header row.

Part of the import (leads/importing.py). The file is streamed: records come one at a
time from a TextIOWrapper read at most MAX_LINE characters per line, so memory stays
flat whatever its size; headers are matched width-, case-, space- and dash-insensitively
against the built-in names, the custom fields and the admin's column mappings.
"""

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from django.utils.translation import gettext as _

from leads.models import ColumnMapping, CustomField
from leads.validation import CUSTOM_PREFIX, TEXT_FIELDS
from mautomation.lib.normalize import fold

SAMPLE_BYTES = 64 * 1024
MAX_LINE = 1 << 20  # characters; a longer line is cut, and the pieces are row errors
ENCODINGS = {"utf-8": "utf-8-sig", "cp932": "cp932"}  # the choice offered -> the codec (BOM or not)
IGNORE = "ignore"  # a ColumnMapping to this drops the column without a warning
# One column filling two fields: "山田 太郎" is split on its first (half- or full-width) space.
SPLIT = {"name": ("last_name", "first_name"), "name_kana": ("last_name_kana", "first_name_kana")}
BUILTIN_HEADERS = {
    "email": ("メールアドレス", "メール", "Eメール", "Eメールアドレス", "メアド", "email", "mail", "email address"),
    "last_name": ("姓", "苗字", "名字", "last name", "family name", "surname"),
    "first_name": ("名", "first name", "given name"),
    "name": ("氏名", "名前", "お名前", "name", "full name"),
    "last_name_kana": ("せい", "セイ", "姓(ふりがな)", "姓(フリガナ)", "last name furigana", "last name kana"),
    "first_name_kana": ("めい", "メイ", "名(ふりがな)", "名(フリガナ)", "first name furigana", "first name kana"),
    "name_kana": ("ふりがな", "フリガナ", "氏名(ふりがな)", "氏名(フリガナ)", "furigana", "kana"),
    "company_name": ("会社名", "企業名", "会社", "法人名", "company", "company name", "organization"),
    "department": ("部署", "部署名", "所属", "部門", "department", "dept"),
    "title": ("役職", "役職名", "肩書", "title", "job title", "position"),
    "phone": ("電話番号", "電話", "TEL", "phone", "phone number", "telephone"),
    "source": ("獲得経路", "流入元", "source", "lead source"),
    "tags": ("タグ", "tags", "tag"),
}
FIELDS = {"email", "tags", *TEXT_FIELDS, *SPLIT}


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message names it and says why."""


@dataclass(frozen=True)
class Columns:
    targets: list[tuple[int, str]]  # (column index, field) of the mapped columns
    width: int
    headers: dict[str, str]  # field -> the header that fills it, to name it in errors
    ignored: list[str]
    custom_fields: dict[str, CustomField]


class Record(NamedTuple):
    line: int  # first line of the record in the file; the header is line 1
    end: int  # last line: the checkpoint once this record is done
    cells: list[str] | None  # None when the CSV syntax itself is broken
    problem: str = ""


# --- Reading the file ------------------------------------------------------------------------


def detect_encoding(open_file: Callable[[], AbstractContextManager[BinaryIO]], *, name: str, choice: str) -> str:
    """The encoding choice ("utf-8" or "cp932") that decodes the start of the file, tried in that order."""
    with open_file() as stream:
        sample = stream.read(SAMPLE_BYTES)
    if not sample:
        raise ImportFileError(_("%(file)s is empty.") % {"file": name})
    if b"\x00" in sample:  # UTF-16, images, spreadsheets: never a CSV we can read
        raise ImportFileError(_("%(file)s is not a CSV text file (binary or UTF-16).") % {"file": name})
    for label in [choice] if choice in ENCODINGS else list(ENCODINGS):
        try:
            codecs.getincrementaldecoder(ENCODINGS[label])().decode(sample, final=len(sample) < SAMPLE_BYTES)
            return label
        except UnicodeDecodeError:
            pass
    raise ImportFileError(
        _("%(file)s is neither UTF-8 nor Shift_JIS (CP932): save it from Excel as CSV.") % {"file": name}
    )


def read_records(stream: BinaryIO, *, encoding: str, name: str) -> Iterator[Record]:
    text = io.TextIOWrapper(stream, encoding=ENCODINGS[encoding], newline="")
    # Lines are read at most MAX_LINE characters at a time: a file without line breaks stays out of memory.
    reader = csv.reader(iter(lambda: text.readline(MAX_LINE), ""))
    end = 0
    while True:
        start, problem = end + 1, ""
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            cells, problem = None, str(exc)
        except UnicodeDecodeError:
            raise ImportFileError(
                _("%(file)s is not %(encoding)s text near line %(line)d.")
                % {"file": name, "encoding": encoding, "line": start}
            ) from None
        end = reader.line_num
        yield Record(start, end, cells, problem)


def count_lines(stream: BinaryIO) -> int:
    count, last = 0, b"\n"
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        count, last = count + chunk.count(b"\n"), chunk[-1:]
    return count + (last != b"\n")


# --- Headers ---------------------------------------------------------------------------------


def header_key(header: str) -> str:
    """Headers compare width-, case-, space- and dash-insensitively: "Ｅ－ｍａｉｌ" is "email"."""
    return re.sub(r"[\s_\-]+", "", fold(header).lower())


def header_table(*, mappings: dict[str, str], custom_fields: dict[str, CustomField]) -> dict[str, str]:
    """Header key -> field: custom fields by key or label, then the built-in names, then ColumnMapping rows."""
    table = {
        header_key(label): f"{CUSTOM_PREFIX}{key}" for key, cf in custom_fields.items() for label in (key, cf.label)
    }
    table |= {header_key(header): name for name, headers in BUILTIN_HEADERS.items() for header in headers}
    valid = FIELDS | {IGNORE} | {f"{CUSTOM_PREFIX}{key}" for key in custom_fields}
    return table | {header_key(header): target for header, target in mappings.items() if target in valid}


def map_headers(headers: list[str], *, mappings: dict[str, str], custom_fields: dict[str, CustomField]) -> Columns:
    _refuse_duplicates(headers)
    table = header_table(mappings=mappings, custom_fields=custom_fields)
    targets, filled, ignored = [], {}, []
    for index, header in enumerate(headers):
        target = table.get(header_key(header))
        if target is None and header.strip():
            ignored.append(header)
        if target in (None, IGNORE):
            continue
        for name in SPLIT.get(target, (target,)):
            if name in filled:
                raise ImportFileError(
                    _("The columns %(first)s and %(second)s fill the same field.")
                    % {"first": filled[name], "second": header}
                )
            filled[name] = header
        targets.append((index, target))
    if "email" not in filled:
        raise ImportFileError(_("No email column among: %(headers)s.") % {"headers": ", ".join(headers)})
    return Columns(targets, len(headers), filled, ignored, custom_fields)


def _refuse_duplicates(headers: list[str]) -> None:
    keys = Counter(header_key(h) for h in headers if h.strip())
    duplicates = [h for h in headers if h.strip() and keys[header_key(h)] > 1]
    if duplicates:
        raise ImportFileError(_("Duplicate columns: %(headers)s.") % {"headers": ", ".join(duplicates)})


def read_header(records: Iterator[Record], *, name: str) -> Columns:
    first = next(records, None)
    if first is None or not first.cells or not any(cell.strip() for cell in first.cells):
        raise ImportFileError(_("%(file)s has no header row.") % {"file": name})
    mappings = dict(ColumnMapping.objects.values_list("header", "field"))
    return map_headers(first.cells, mappings=mappings, custom_fields={cf.key: cf for cf in CustomField.objects.all()})
