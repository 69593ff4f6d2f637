"""What a submission owes after commit: the auto-reply, the staff notification and the opt-in confirmation.

Submission.followups_sent_at is the outbox flag: send_followups() claims a row
with a conditional UPDATE that must change exactly one row and sends inside the
same transaction, so a failed send rolls the claim back and the sweeper (or a
retry) sends again later; a second delivery of the task finds nothing to claim.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from landing.models import Submission
from leads.models import Consent, Lead
from leads.upsert import ConsentGrant, upsert_lead

log = logging.getLogger(__name__)

CONFIRM_SALT = "landing.opt-in"
CONFIRM_MAX_AGE = 7 * 24 * 3600
UNREACHABLE = {Lead.EmailStatus.BOUNCED, Lead.EmailStatus.COMPLAINED}


def send_followups(submission_id: int) -> bool:
    """Send this submission's emails once; False when another run already did (or is doing) it."""
    with transaction.atomic():
        claimed = Submission.objects.filter(pk=submission_id, followups_sent_at__isnull=True).update(
            followups_sent_at=timezone.now()
        )
        if not claimed:
            return False
        submission = Submission.objects.select_related("form", "lead").get(pk=submission_id)
        with translation.override(settings.LANGUAGE_CODE):
            _send_all(submission)
    return True


def _send_all(submission: Submission) -> None:
    form, lead = submission.form, submission.lead
    reachable = lead is not None and lead.email_status not in UNREACHABLE
    if reachable and form.double_opt_in and submission.consent_wording:
        _send("confirm", submission, [lead.mail_address], confirm_url=confirm_url(submission))
    if reachable and form.auto_reply:
        subject = form.auto_reply_subject or form.name
        send_mail(subject, form.auto_reply_body, settings.DEFAULT_FROM_EMAIL, [lead.mail_address])
    if staff := notify_recipients(form.notify_emails):
        admin_path = reverse("admin:landing_submission_change", args=[submission.pk])
        _send("notify", submission, staff, admin_url=settings.SITE_URL + admin_path)


def _send(name: str, submission: Submission, to: list[str], **extra: str) -> None:
    context = {"submission": submission, "form": submission.form, "lead": submission.lead, **extra}
    subject = " ".join(render_to_string(f"landing/emails/{name}_subject.txt", context).split())
    body = render_to_string(f"landing/emails/{name}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def notify_recipients(notify_emails: str) -> list[str]:
    """The staff addresses of a form, skipping any that is not an address."""
    found = []
    for address in (part.strip() for part in notify_emails.replace(";", ",").split(",")):
        try:
            validate_email(address)
        except Exception:
            continue
        found.append(address)
    return found


def due(*, older_than: timedelta = timedelta(seconds=30), limit: int = 500) -> list[int]:
    """Submissions whose emails were not sent, old enough that their own task has had its chance."""
    rows = Submission.objects.filter(
        followups_sent_at__isnull=True, ingested_at__isnull=False, created_at__lt=timezone.now() - older_than
    )
    return list(rows.order_by("created_at").values_list("pk", flat=True)[:limit])


def sweep(*, older_than: timedelta = timedelta(seconds=30), limit: int = 500) -> int:
    """Send what enqueueing missed (broker down, worker killed); returns how many were sent here."""
    done = 0
    for submission_id in due(older_than=older_than, limit=limit):
        try:
            done += send_followups(submission_id)
        except Exception:
            log.exception("follow-ups of submission %s failed; they stay due", submission_id)
    return done


# --- Double opt-in ----------------------------------------------------------------------------


def confirm_token(submission: Submission) -> str:
    return signing.dumps({"s": submission.pk}, salt=CONFIRM_SALT, compress=False)


def confirm_url(submission: Submission) -> str:
    path = reverse("landing:form-confirm", args=[submission.form.slug, confirm_token(submission)])
    return settings.SITE_URL + path


def submission_for_confirmation(slug: str, token: str) -> Submission | None:
    """The submission a confirmation link is for; None for a forged, expired or foreign link."""
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    submission_id = payload.get("s") if isinstance(payload, dict) else None
    found = Submission.objects.select_related("form", "lead").filter(pk=submission_id, form__slug=slug).first()
    return found if found and found.lead_id and found.consent_wording else None


@transaction.atomic
def confirm_opt_in(submission: Submission) -> bool:
    """Grant the consent the person asked for; False when this link was already used."""
    confirmed = Submission.objects.filter(pk=submission.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    if not confirmed:
        return False
    grant = ConsentGrant(Consent.Method.FORM, submission.consent_wording, submission.form.slug)
    upsert_lead(values={"email": submission.lead.email}, consent=grant)
    return True
