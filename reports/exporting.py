"""Every report table as a CSV file Excel opens correctly (UTF-8 with a BOM), formulas neutralised."""

import csv
import io

from django.http import HttpResponse
from django.utils import timezone

from leads.exporting import BOM
from mautomation.lib.spreadsheet_cells import neutralise


def csv_response(*, name: str, header: list[str], rows: list[list[object]]) -> HttpResponse:
    """A small table (reports are aggregates) built in memory; the file name carries the date."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    response = HttpResponse((BOM + buffer.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
