"""Exporting leads as a CSV file that Excel opens as it should, streamed for any queryset.

UTF-8 with a BOM by default (Excel reads UTF-8 only with one), or CP932 for older
Excel, with characters it cannot encode replaced instead of failing the export.
Headers follow the active language and are the ones leads/importing.py reads back,
so an exported file imports again as "unchanged". Cells that a spreadsheet would
run as a formula are neutralised with a leading quote, which the importer removes;
values that start with quotes of their own before such a character get one too, so
every value reads back exactly (mautomation/lib/spreadsheet_cells.py).
"""

import csv
import io
from collections.abc import Iterator

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, override
from django.utils.translation import gettext as _

from leads.models import CustomField, Lead
from leads.validation import TEXT_FIELDS
from mautomation.lib.spreadsheet_cells import neutralise

ENCODINGS = {"utf-8": "utf-8", "cp932": "windows-31j"}  # our name -> the charset label for HTTP
BOM = "\ufeff"
# The ingest fields (leads/validation.py) in the same order, then the state a marketer filters on.
FIELDS = ("email", *TEXT_FIELDS, "tags", "stage", "email_status", "consent", "score", "owner", "created_at")
ROWS_PER_CHUNK = 500
# Characters that CP932 (Excel's "Shift_JIS") has at another code point than JIS: 〜 is ～ there.
CP932_EQUIVALENTS = str.maketrans(
    {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0", "\u00a3": "\uffe1",
     "\u00ac": "\uffe2", "\u2014": "\u2015"}
)  # fmt: skip


def stream_csv(queryset: QuerySet[Lead], *, encoding: str = "utf-8") -> Iterator[bytes]:
    """The leads as CSV bytes, in chunks; the language active now is the one of the headers and values."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")
    custom = list(CustomField.objects.values_list("key", "label"))
    leads = queryset.select_related("company", "owner").prefetch_related("tags")
    leads = leads if leads.ordered else leads.order_by("pk")
    return _generate(leads, custom, encoding, get_language())


def _generate(leads: QuerySet[Lead], custom: list[tuple[str, str]], encoding: str, language: str) -> Iterator[bytes]:
    # The response is iterated after the view returned: the request's language must come along.
    with override(language):
        if encoding == "utf-8":
            yield BOM.encode()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(neutralise(cell) for cell in headers(custom))
        for count, lead in enumerate(leads.iterator(chunk_size=2000), 1):
            writer.writerow(neutralise(cell) for cell in values(lead, custom))
            if count % ROWS_PER_CHUNK == 0:
                yield encode(drain(buffer), encoding)
        yield encode(drain(buffer), encoding)


def headers(custom: list[tuple[str, str]]) -> list[str]:
    names = [str(Lead._meta.get_field(name).verbose_name) for name in FIELDS]
    return names + [label for _key, label in custom]


def values(lead: Lead, custom: list[tuple[str, str]]) -> list[object]:
    cells = [getattr(lead, name) for name in ("email", *TEXT_FIELDS)]
    cells += [", ".join(sorted(tag.name for tag in lead.tags.all())), lead.get_stage_display()]
    cells += [lead.get_email_status_display(), _("Yes") if lead.consent else _("No"), lead.score]
    cells += [
        lead.owner.get_username() if lead.owner else "",
        f"{timezone.localtime(lead.created_at):%Y-%m-%d %H:%M:%S}",
    ]
    return cells + [lead.custom.get(key, "") for key, _label in custom]


def drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def encode(text: str, encoding: str) -> bytes:
    if encoding == "cp932":
        return text.translate(CP932_EQUIVALENTS).encode("cp932", errors="replace")
    return text.encode("utf-8")


def csv_response(queryset: QuerySet[Lead], *, encoding: str = "utf-8") -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        stream_csv(queryset, encoding=encoding), content_type=f"text/csv; charset={ENCODINGS[encoding]}"
    )
    response["Content-Disposition"] = f'attachment; filename="leads-{timezone.localtime():%Y%m%d-%H%M}.csv"'
    return response


@admin.action(description=gettext_lazy("Export selected leads as CSV"), permissions=["view"])
def export_as_csv(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Lead]
) -> StreamingHttpResponse:
    return csv_response(queryset)


@admin.action(description=gettext_lazy("Export selected leads as CSV (Shift_JIS)"), permissions=["view"])
def export_as_csv_cp932(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Lead]
) -> StreamingHttpResponse:
    return csv_response(queryset, encoding="cp932")
