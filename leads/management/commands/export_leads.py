from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import override

from leads.exporting import ENCODINGS, stream_csv
from leads.models import Lead


class Command(BaseCommand):
    help = "Export every lead as a CSV file for Excel (UTF-8 with a BOM, or CP932)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--encoding", choices=list(ENCODINGS), default="utf-8")
        parser.add_argument("--language", choices=[code for code, _name in settings.LANGUAGES], help="of the headers")

    def handle(self, *, path: Path, encoding: str, language: str | None, **options) -> None:
        leads = Lead.objects.order_by("pk")
        with override(language or settings.LANGUAGE_CODE), open(path, "wb") as out:
            for chunk in stream_csv(leads, encoding=encoding):
                out.write(chunk)
        self.stdout.write(f"exported {leads.count()} leads to {path}")
