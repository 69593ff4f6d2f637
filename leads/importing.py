"""Importing leads from a CSV file: what the import_leads command and the admin upload both run.

The file is streamed (leads/import_files.py) in batches of BATCH_SIZE records, so
memory stays flat whatever its size. Each batch is one transaction: one query reads
the leads it names (those it changes are read again under a row lock), new leads are
inserted in bulk, changed ones updated in bulk (leads/import_sql.py: COPY and
INSERT … SELECT on PostgreSQL), and the job's counters and checkpoint (rows_done, in
data lines) move in that same transaction, so an interrupted import resumes where it
stopped and ends with the counts of one run. A lead inserted concurrently makes the
insert fail on the email key's unique constraint; the batch is then read and written
again. Rows are checked in leads/import_rows.py; the next batch is read and checked in
a thread while PostgreSQL commits the current one (mautomation/lib/read_ahead.py), and
companies already resolved are remembered for the run (leads/import_companies.py).

The rules are those of leads/upsert.py: the email is matched by its key (width
and case folded) and never rewritten, non-empty values overwrite, empty ones
never erase, tags are only added, and consent is recorded for new leads only,
so an import never re-subscribes anyone. Rows of a batch that share an email
are merged first (later non-empty values win). A row counts as "updated" when
a value it brought is the one stored and differs from what was there, so
importing the same file again reports every row "unchanged". Batches never look
ahead: two rows of one email with conflicting values in different batches are
written in turn (the later wins), and a re-import counts both as updates.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import dropwhile, islice
from pathlib import Path

from django.core.files import File
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.import_companies import KnownCompanies
from leads.import_files import (
    ENCODINGS,
    Columns,
    ImportFileError,
    Record,
    count_lines,
    detect_encoding,
    read_header,
    read_records,
)
from leads.import_rows import (
    TAG_PREFIX,
    Fresh,
    Merged,
    Parsed,
    Row,
    company_lookup,
    group_by_key,
    merge,
    parse_batch,
    split_flat,
    tag_names,
)
from leads.import_sql import among, grant_consents, insert_leads, insert_links, postgres, stored_rows
from leads.lists import add_to_list
from leads.models import Consent, ImportJob, ImportRowError, Lead, ListMembership, Tag
from leads.upsert import Outcome
from leads.validation import CUSTOM_PREFIX, TEXT_FIELDS
from mautomation.lib.collections_pacing import sparse_collections
from mautomation.lib.normalize import phone_key
from mautomation.lib.read_ahead import ReadAhead

__all__ = ["ENCODINGS", "ImportFileError"]  # the command offers the encodings; callers catch the error

BATCH_SIZE = 5_000
CONSENT_METHODS = (Consent.Method.IMPORT, Consent.Method.BUSINESS_CARD, Consent.Method.RELATIONSHIP)
RETRIES = 3
NEW_COLUMNS = ["email", "email_key", *TEXT_FIELDS, "phone_key", "company_id", "custom"]  # a new lead, as a tuple
SOURCE = list(TEXT_FIELDS).index("source")


class JobBusy(Exception):
    """Another process moved the job's checkpoint: it is running this import, so this one stops."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0

    def __str__(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, errors {self.errors}"


@dataclass(frozen=True)
class Options:
    consent: str | None = Consent.Method.IMPORT  # recorded for new leads; None records no consent
    source: str = ""  # Lead.source of new leads whose row has none
    file_name: str = ""  # Consent.source
    lead_list_id: int | None = None  # every lead of the file (new or not) joins this list
    user_id: int | None = None  # who imported: recorded on the list memberships


# --- Writing a batch -------------------------------------------------------------------------


def import_batch(
    job: ImportJob,
    batch: Parsed,
    *,
    columns: Columns,
    options: Options,
    known: KnownCompanies | None = None,
    before_commit: Callable[[], None] = lambda: None,
) -> Counts:
    """Write one checked batch and move the job's checkpoint past it, in one transaction.

    `known`: the run's companies so far. `before_commit` is called when only the commit is
    left (the run checks the next batch meanwhile).
    """
    known = known or KnownCompanies()
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                commit_without_flush()
                counts = _write_batch(job, batch, columns, options, known)
                before_commit()
            break
        except IntegrityError:  # a lead inserted concurrently between our read and our write: read again
            known.forget()
            if attempt == RETRIES - 1:
                raise
    job.rows_done = batch.end
    for name, value in vars(counts).items():
        setattr(job, name, getattr(job, name) + value)
    return counts


def _write_batch(job: ImportJob, batch: Parsed, columns: Columns, options: Options, known: KnownCompanies) -> Counts:
    # The checkpoint is claimed first: a second runner of the same job waits here, then stops.
    if not ImportJob.objects.filter(pk=job.pk, rows_done=job.rows_done).update(rows_done=batch.end):
        raise JobBusy
    targets = {target for _index, target in columns.targets}
    wants = {"custom": any(t.startswith(CUSTOM_PREFIX) for t in targets), "tags": "tags" in targets}
    merged = merge_with_stored(group_by_key(batch.rows), **wants)
    write_leads(merged, options=options, now=timezone.now(), known=known, **wants)
    if options.lead_list_id and merged:
        chosen = Lead.objects.filter(among(Lead, "email_key", [m.key for m in merged]))
        add_to_list(
            lead_list=options.lead_list_id, leads=chosen, source=ListMembership.Source.IMPORT, user_id=options.user_id
        )
    ImportRowError.objects.bulk_create(
        [ImportRowError(job=job, row=line, field=col[:100], reason=reason[:500]) for line, col, reason in batch.errors],
        ignore_conflicts=True,  # two problems in one cell (氏名 too long for both halves) are reported once
    )
    outcomes = Counter(outcome for m in merged for outcome in m.outcomes.values())
    counts = Counts(outcomes[Outcome.CREATED], outcomes[Outcome.UPDATED], outcomes[Outcome.UNCHANGED])
    counts.errors = len({line for line, _column, _reason in batch.errors})
    ImportJob.objects.filter(pk=job.pk).update(**{name: F(name) + value for name, value in vars(counts).items()})
    return counts


def commit_without_flush() -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL is on disk (a third of a batch's time).

    Safe for a batch: it commits together with the job's checkpoint, so a server crash that
    loses it also loses the checkpoint's move, and resuming writes it again. The job's last
    save commits normally, which flushes every batch before the counts are reported.
    """
    if postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def merge_with_stored(groups: dict[str, list[Row]], *, custom: bool, tags: bool) -> list[Merged]:
    """Merge against the stored leads; those that change are read again under a lock, and merged again."""
    wants = {"custom": custom, "tags": tags}  # what the file can change, so what must be read
    stored = fetch_stored(list(groups), **wants)
    merged = {key: merge(rows, stored.get(key)) for key, rows in groups.items()}
    changing = [key for key, m in merged.items() if m.stored is not None and m.changed]
    if changing:  # locking only what we write keeps an all-unchanged re-import free of row locks
        merged |= {key: merge(groups[key], lead) for key, lead in fetch_stored(changing, lock=True, **wants).items()}
    return list(merged.values())


def fetch_stored(keys: list[str], *, custom: bool, tags: bool, lock: bool = False) -> dict[str, dict]:
    """email key -> {"id", "company_id", "flat"}: the stored values of the leads with these keys."""
    stored = {}
    columns = [*TEXT_FIELDS, *["custom"] * custom]
    for lead_id, key, company_id, *values in stored_rows(sorted(keys), columns=columns, lock=lock):
        flat = dict(zip(TEXT_FIELDS, values, strict=False))  # the custom dict, when read, comes last
        flat.update((f"{CUSTOM_PREFIX}{name}", value) for name, value in (values[-1] if custom else {}).items())
        stored[key] = {"id": lead_id, "company_id": company_id, "flat": flat}
    if tags and stored:
        by_id = {lead["id"]: lead["flat"] for lead in stored.values()}
        links = Lead.tags.through.objects.filter(among(Lead.tags.through, "lead_id", list(by_id)))
        for lead_id, name in links.values_list("lead_id", "tag__name"):
            by_id[lead_id][f"{TAG_PREFIX}{name}"] = True
    return stored


def write_leads(
    merged: list[Merged],
    *,
    options: Options,
    now: datetime,
    known: KnownCompanies,
    custom: bool = True,
    tags: bool = True,
) -> None:
    """Insert the new leads and update the changed ones; `custom`, `tags`: whether the file has such columns."""
    new = [(m, m.as_new()) for m in merged if m.stored is None]
    changed = [m for m in merged if m.stored is not None and m.changed]
    # As in upsert_lead: a new lead gets a company, an existing one when it had none and its company name changed.
    wanted = {m.key: fresh.company for m, fresh in new}
    wanted |= {
        m.key: company_lookup(m.key, m.final.get("company_name", ""))
        for m in changed
        if "company_name" in m.changed and not m.stored["company_id"]
    }
    companies = known.resolve(wanted)
    source = options.source[:100]  # what a new lead whose row has none gets
    rows = [_new_lead(m, fresh, companies.get(m.key), source=source, custom=custom) for m, fresh in new]
    ids = insert_leads(NEW_COLUMNS, rows, same={"consent": bool(options.consent), "created_at": now, "updated_at": now})
    _update_leads(changed, companies, now)
    new_tags = [(lead_id, name) for (_m, fresh), lead_id in zip(new, ids, strict=True) for name in fresh.tags]
    added = [(m.stored["id"], name) for m in changed for name in tag_names(dict.fromkeys(m.changed))]
    link_tags(new_tags if tags else [], added)
    if options.consent:
        grant_consents(ids, method=options.consent, source=options.file_name[:255], granted_at=now)


def _new_lead(m: Merged, fresh: Fresh, company_id: int | None, *, source: str, custom: bool) -> tuple:
    """A new lead as a tuple of NEW_COLUMNS."""
    texts = fresh.texts
    if source and not texts[SOURCE]:
        texts = (*texts[:SOURCE], source, *texts[SOURCE + 1 :])
    return (m.email, m.key, *texts, fresh.phone_key, company_id, fresh.custom if custom else {})


def _update_leads(changed: list[Merged], companies: dict[str, int | None], now: datetime) -> None:
    names = set().union(*(m.changed for m in changed))
    fields = [name for name in TEXT_FIELDS if name in names] + ["phone_key"] * ("phone" in names)
    fields += ["custom"] * any(name.startswith(CUSTOM_PREFIX) for name in names) + ["company"] * bool(companies)
    leads = []
    for m in changed:
        text, custom, _tags = split_flat(m.final)
        company_id = companies.get(m.key) or m.stored["company_id"]
        lead = Lead(id=m.stored["id"], **text, phone_key=phone_key(text["phone"]), custom=custom, company_id=company_id)
        lead.updated_at = now
        leads.append(lead)
    if leads:
        Lead.objects.bulk_update(leads, [*fields, "updated_at"])


def link_tags(new_tags: list[tuple[int, str]], added: list[tuple[int, str]]) -> None:
    """(lead id, tag name) links: new leads' are inserted plainly, those added to existing leads may exist already."""
    insert_links(tag_ids(new_tags), existing=False)
    insert_links(tag_ids(added), existing=True)


def tag_ids(pairs: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """(lead id, tag name) -> (lead id, tag id), creating the tags not seen before."""
    names = {name for _lead_id, name in pairs}
    if not names:
        return []
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    ids = dict(Tag.objects.filter(name__in=names).values_list("name", "id"))
    return [(lead_id, ids[name]) for lead_id, name in pairs]


# --- The job ---------------------------------------------------------------------------------


def create_job(
    *, name: str, encoding: str = "auto", user: models.Model | None = None, upload: File | None = None
) -> ImportJob:
    """A pending job for a file given by name (the command) or uploaded (the admin, stored with the job)."""
    job = ImportJob(original_name=Path(name).name[:255], encoding=encoding if encoding in ENCODINGS else "")
    job.created_by = user
    if upload is not None:
        job.file.save(job.original_name, upload, save=False)
    job.save()
    return job


def run_import(
    *,
    job: ImportJob,
    path: Path | None = None,
    options: Options | None = None,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Import the job's file (or path), resuming after its checkpoint; a bad file fails the job with the reason."""
    options = replace(options or Options(), file_name=(options and options.file_name) or job.original_name)
    open_file = (lambda: open(path, "rb")) if path is not None else (lambda: job.file.open("rb"))  # noqa: SIM115
    try:
        with sparse_collections():
            _run(job, open_file, options, batch_size, on_batch or (lambda job: None))
    except ImportFileError as exc:
        _finish(job, ImportJob.Status.FAILED, str(exc))
    except JobBusy:
        job.refresh_from_db()
    except Exception as exc:
        stopped = _("Stopped after %(rows)d rows (%(error)s); run it again to resume.") % {
            "rows": job.rows_done,
            "error": f"{exc.__class__.__name__}: {exc}",
        }
        with suppress(DatabaseError):  # the database going away may be why we are here
            _finish(job, ImportJob.Status.FAILED, stopped)
        raise
    return job


def _run(job: ImportJob, open_file: Callable, options: Options, batch_size: int, on_batch: Callable) -> None:
    name = job.original_name
    encoding = detect_encoding(open_file, name=name, choice=job.encoding)
    with open_file() as stream:
        total = count_lines(stream) - 1
    with open_file() as stream:
        records = read_records(stream, encoding=encoding, name=name)
        columns = read_header(records, name=name)
        _start(job, encoding=encoding, total=total, ignored=columns.ignored)
        todo = dropwhile(lambda record, done=job.rows_done: record.end - 1 <= done, records)
        # The next batch is checked while PostgreSQL commits this one (its foreign keys are checked then).
        checked = ReadAhead(parse_batch(batch, columns) for batch in batches(todo, batch_size))
        known = KnownCompanies()
        for batch in checked:
            import_batch(job, batch, columns=columns, options=options, known=known, before_commit=checked.start)
            on_batch(job)
    _finish(job, ImportJob.Status.DONE, job.message)


def batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    records = iter(records)
    while batch := list(islice(records, size)):
        yield batch


def _start(job: ImportJob, *, encoding: str, total: int, ignored: list[str]) -> None:
    job.encoding, job.rows_total, job.status = encoding, max(total, job.rows_done, 0), ImportJob.Status.RUNNING
    job.message = _("Ignored columns: %(headers)s") % {"headers": ", ".join(ignored)} if ignored else ""
    fields = {name: getattr(job, name) for name in ("encoding", "rows_total", "status", "message")}
    if not ImportJob.objects.filter(pk=job.pk, rows_done=job.rows_done).update(**fields):
        raise JobBusy  # another runner moved the checkpoint since this job was loaded


def _finish(job: ImportJob, status: str, message: str) -> None:
    job.status, job.message, job.finished_at = status, message, timezone.now()
    if status == ImportJob.Status.DONE:
        job.rows_total = job.rows_done
    job.save(update_fields=["status", "message", "finished_at", "rows_total"])
