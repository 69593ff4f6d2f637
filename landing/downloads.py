"""The gated asset: a signed, expiring link bound to one submission, and the download it records.

The link is /d/<token>/; the token names the submission and carries its issue
time, so it needs no table, cannot be pointed at another submission, and
expires after the form's asset_link_hours (read when the link is followed).
"""

import enum
from dataclasses import dataclass

from django.core import signing
from django.urls import reverse
from django.utils import timezone

from landing import ingesting
from landing.models import Form, Submission
from leads import stream
from leads.models import Activity

DOWNLOAD_SALT = "landing.download"
LONGEST_LINK = 10 * 365 * 24 * 3600  # a bound for the signature check; the form's own hours apply after


class Refusal(enum.Enum):
    TAMPERED = 403
    EXPIRED = 410
    GONE = 404  # the submission, the form's asset or the form itself is no longer there


@dataclass(frozen=True)
class Grant:
    submission: Submission
    form: Form


def download_url(submission: Submission) -> str:
    token = signing.dumps({"s": submission.pk}, salt=DOWNLOAD_SALT, compress=False)
    return reverse("landing:download", args=[token])


def resolve(token: str) -> Grant | Refusal:
    """The submission a download link is for, or why it is refused."""
    try:
        payload = signing.loads(token, salt=DOWNLOAD_SALT, max_age=LONGEST_LINK)
    except signing.SignatureExpired:
        return Refusal.EXPIRED
    except signing.BadSignature:
        return Refusal.TAMPERED
    submission_id = payload.get("s") if isinstance(payload, dict) else None
    submission = Submission.objects.select_related("form").filter(pk=submission_id).first()
    if submission is None or not submission.form.asset or not submission.form.published:
        return Refusal.GONE
    try:
        signing.loads(token, salt=DOWNLOAD_SALT, max_age=submission.form.asset_link_hours * 3600)
    except signing.SignatureExpired:
        return Refusal.EXPIRED
    return Grant(submission, submission.form)


def record_download(grant: Grant) -> Activity | None:
    """One download activity per submission and local day, on the submitter's lead."""
    submission = grant.submission
    if submission.ingested_at is None and ingesting.ingest(submission.pk):  # clicked before a worker got to it
        submission.refresh_from_db(fields=["lead", "ingested_at"])
    if submission.lead_id is None:
        return None
    day = timezone.localdate().isoformat()
    return stream.record(
        kind=Activity.Kind.DOWNLOAD,
        lead=submission.lead,
        form_id=grant.form.pk,
        url=grant.form.asset.url,
        data={"file": grant.form.asset.name.rsplit("/", 1)[-1], "submission": submission.pk},
        dedup_key=f"download:{submission.pk}:{day}",
    )
