import gc
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.importing import BATCH_SIZE, CONSENT_METHODS, ENCODINGS, Counts, Options, create_job, run_import
from leads.models import ImportJob, LeadList


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file (UTF-8 or Shift_JIS/CP932, Japanese or English headers). "
        "Errors are printed per row; the last line is the counts."
    )
    bar_drawn = False  # whether a progress bar line is open on stderr
    # The system checks (URLs, admin, security settings, the ESP) say nothing about an import and
    # cost a fifth of a second at every start; `manage.py check` and every server start run them.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--encoding", choices=["auto", *ENCODINGS], default="auto")
        parser.add_argument("--source", default="", help="the source (獲得経路) of new leads whose row has none")
        parser.add_argument("--consent", choices=[*CONSENT_METHODS, "none"], default="import", help="new leads only")
        parser.add_argument("--resume", type=int, metavar="JOB_ID", help="continue an interrupted import of PATH")
        parser.add_argument("--list", type=int, metavar="LIST_ID", help="add every lead of the file to this list")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per transaction")

    def handle(self, *, path: Path, encoding: str, source: str, consent: str, resume: int | None, **options) -> None:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["list"] is not None and not LeadList.objects.filter(pk=options["list"]).exists():
            raise CommandError(f"--list {options['list']}: no such list")
        job = self.job(path, encoding, resume)
        # The collector's full passes would walk every object Django has loaded, again and again, as
        # batches come and go (a fifth of the import's CPU). This process ends with the import, so
        # what exists now can be left out of them for good.
        gc.freeze()
        grant = None if consent == "none" else consent
        try:
            run_import(
                job=job,
                path=path,
                options=Options(consent=grant, source=source, file_name=path.name, lead_list_id=options["list"]),
                batch_size=options["batch_size"],
                on_batch=self.progress,
            )
        except Exception as exc:
            raise CommandError(f"{exc}\nResume with: manage.py import_leads {path} --resume {job.pk}") from exc
        finally:
            if self.bar_drawn:
                self.stderr.write("")  # end the progress bar's line
        self.report(job)

    def job(self, path: Path, encoding: str, resume: int | None) -> ImportJob:
        if resume is None:
            return create_job(name=path.name, encoding=encoding)
        job = ImportJob.objects.filter(pk=resume).first()
        if job is None or job.original_name != path.name[:255]:
            raise CommandError(f"import {resume} is not an import of {path.name}")
        return job

    def progress(self, job: ImportJob) -> None:
        done = min(job.rows_done / job.rows_total, 1.0) if job.rows_total else 1.0
        self.stderr.style_func = None  # a plain bar, not an error-red one
        bar = f"[{'#' * int(done * 30):<30}] {done:4.0%} {job.rows_done:,}/{job.rows_total:,} rows"
        self.stderr.write(f"\r{bar}", ending="")
        self.stderr.flush()
        self.bar_drawn = True

    def report(self, job: ImportJob) -> None:
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.message)
        for error in job.row_errors.order_by("row", "field").iterator():
            self.stdout.write(f"row {error.row}, {error.field or '-'}: {error.reason}")
        if job.message:
            self.stdout.write(job.message)
        self.stdout.write(str(Counts(job.created, job.updated, job.unchanged, job.errors)))
