"""Turning a stored submission into its lead, consent, activity and visitor history, on a worker.

The request only checks the fields and saves the raw Submission (one INSERT), so
the visitor is answered at once whatever the lead's history costs. Its ingested_at
is the outbox flag: ingest() claims the row with a conditional UPDATE that must
change exactly one row and does the rest in the same transaction, so a failure
rolls the claim back and the row is taken again later. After commit the request
wakes a worker, at most once per burst of submissions; whatever a lost wake-up
(broker down) leaves behind, the follow-up sweeper ingests.
"""

import logging
from datetime import timedelta
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from landing.models import Submission
from landing.submitting import enqueue_followups, lead_values
from leads import stream
from leads.models import Activity, Consent
from leads.upsert import ConsentGrant, upsert_lead
from mautomation.lib.cache_redis import client_and_key
from mautomation.lib.enqueue import try_enqueue

log = logging.getLogger(__name__)

WAKE_KEY = "landing:ingest-awake"
WAKE_SECONDS = 10  # a wake-up whose task never ran (broker down) is tried again after this
SWEEP_AFTER = timedelta(seconds=30)  # the sweeper leaves younger submissions to their own wake-up


def wake() -> None:
    """Ask a worker to ingest what is pending; only the first submission of a burst publishes a task."""
    from landing.tasks import ingest_submissions

    client, key = client_and_key(WAKE_KEY)
    first = client.set(key, 1, nx=True, ex=WAKE_SECONDS) if client else cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)
    if first:
        try_enqueue(ingest_submissions, (), what="form submissions to ingest")


def ingest_pending(*, older_than: timedelta = timedelta(0), limit: int = 1000) -> int:
    """Ingest the submissions still pending, oldest first; returns how many were ingested here."""
    # Forget the wake-up before reading: a submission committed after this line wakes another run,
    # and one committed before it is in the query below, so none waits for the sweeper.
    cache.delete(WAKE_KEY)
    due = Submission.objects.filter(ingested_at__isnull=True, created_at__lte=timezone.now() - older_than)
    done = 0
    for submission_id in due.order_by("created_at").values_list("pk", flat=True)[:limit]:
        try:
            done += ingest(submission_id)
        except Exception:
            log.exception("submission %s could not be ingested; it stays pending", submission_id)
    return done


def ingest(submission_id: int) -> bool:
    """Make the lead of one submission, once; False when another run already did (or is doing) it."""
    with transaction.atomic():
        claimed = Submission.objects.filter(pk=submission_id, ingested_at__isnull=True).update(
            ingested_at=timezone.now()
        )
        if not claimed:
            return False
        submission = Submission.objects.select_related("form").get(pk=submission_id)
        _ingest(submission)
        transaction.on_commit(partial(enqueue_followups, submission_id))
    return True


def _ingest(submission: Submission) -> None:
    form = submission.form
    values, problems = lead_values(form.fields, submission.data)
    if problems:  # the form's mapping changed since the visitor posted: the raw values stay, without a lead
        log.warning("submission %s: lead values no longer valid (%s); kept without a lead", submission.pk, problems)
        return
    wording = submission.consent_wording
    grant = ConsentGrant(Consent.Method.FORM, wording, form.slug) if wording and not form.double_opt_in else None
    touch = {"url": submission.page_url, "referrer": submission.referrer, **submission.utm}
    person = upsert_lead(values=values, consent=grant, touch={k: v for k, v in touch.items() if v} or None).lead
    activity = stream.record(
        kind=Activity.Kind.FORM_SUBMIT, lead=person, visitor_id=submission.visitor_id, form_id=form.pk,
        url=submission.page_url, occurred_at=submission.created_at,
        data={"form": form.slug, "utm": submission.utm, "referrer": submission.referrer,
              "page": submission.page_url, "embedded": submission.embedded},
    )  # fmt: skip
    Submission.objects.filter(pk=submission.pk).update(lead=person, activity=activity)
    submission.lead, submission.activity = person, activity
    stream.identify(visitor_id=submission.visitor_id, lead=person)
