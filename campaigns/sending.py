"""Broadcasts: who gets a campaign, and every message handed to the mail system once.

Recipients are resolved when sending starts: the campaign's lists and segments
(leads.segments.audience) minus its suppression lists, minus anyone not
mailable (no consent; unsubscribed, bounced or complained), as one
INSERT … SELECT of `Send` rows under unique (source, lead) and (source, address)
constraints, so a lead or an address is never queued twice. Batch tasks then
walk the rows by keyset (id > last id), each first queueing the next batch so
that every worker keeps busy, and each re-checks mailability (an unsubscribe
between start and send is honoured).

Exactly once. Each chunk of rows is claimed with a conditional UPDATE
(pending → claimed, with a fresh claim token) before any message is built, so
two workers, a redelivered task or a second pass never get the same row. Then,
per message (campaigns/transports.py):
- SMTP: the message is written inside DATA; the row is marked sent (UPDATE …
  WHERE claim_token = ours AND status = claimed, committed); only then the
  final "." makes the server accept the message. A killed worker leaves rows
  "claimed" whose messages the server discarded with the dropped connection:
  provably not sent, so the sweeper returns them to pending and they are sent
  again. The one window left is between that commit and the dot reaching the
  server (one small write): a kill there records a message that was not sent,
  never a second copy. A reply lost after the dot counts as sent.
- Other backends (ESP APIs): the row is marked "handing" (committed) before the
  API call and "sent" after it. A kill during the call leaves "handing": the
  sweeper cannot know, so it marks the row for review instead of sending again.
  At most one message per worker is in that state at any time.
A stale claim whose token no longer matches cannot be committed by a worker
that was merely slow, so the sweeper can never cause a second message either.
"""

import logging
import time
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, DateTimeField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import marking, throttle, transports
from campaigns.composing import COMPANY_VALUES, LEAD_VALUES, Composer, context_for
from campaigns.models import Campaign, EmailTemplate, Send, SenderIdentity
from leads import stream
from leads.models import Activity, Lead
from leads.segments import audience
from mautomation.lib import normalize
from mautomation.lib.enqueue import try_enqueue

log = logging.getLogger(__name__)

CHUNK = 100  # rows claimed at a time: what a killed worker leaves to the sweeper
STARTABLE = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
OPEN = (Send.Status.PENDING, Send.Status.CLAIMED, Send.Status.HANDING)
SEND_COLUMNS = ["source", "campaign_id", "lead_id", "email", "status", "attempts", "claim_token", "message_id",
                "error", "recorded", "created_at"]  # fmt: skip


class SendingError(Exception):
    """A campaign that cannot start, with the reason for the marketer."""


def mailable() -> Q:
    """特定電子メール法: consent in force, and neither unsubscribed, bounced nor complained."""
    return Q(consent=True, email_status=Lead.EmailStatus.OK) & ~Q(email="")


def recipients(*, campaign: Campaign) -> QuerySet:
    leads = audience(
        lists=campaign.lists.values_list("pk", flat=True),
        segments=campaign.segments.values_list("pk", flat=True),
        exclude_lists=campaign.suppression_lists.values_list("pk", flat=True),
    )
    return leads.filter(mailable())


def problems(*, campaign: Campaign) -> list[str]:
    """Why the campaign cannot be sent; empty when it can."""
    found = []
    if campaign.template_id is None:
        found.append(_("Choose a template."))
    if not (campaign.lists.exists() or campaign.segments.exists()):
        found.append(_("Choose at least one list or segment."))
    if not SenderIdentity.load().complete:
        found.append(_("Fill in the sender identity (name, postal address, contact): the law requires it."))
    return found


def schedule(*, campaign: Campaign, at) -> bool:
    if found := problems(campaign=campaign):
        raise SendingError(" ".join(found))
    updated = Campaign.objects.filter(pk=campaign.pk, status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED])
    return bool(updated.update(status=Campaign.Status.SCHEDULED, scheduled_at=at))


def start(*, campaign: Campaign) -> int:
    """Resolve the recipients now and start sending; the number of recipients (0 if already started)."""
    if found := problems(campaign=campaign):
        raise SendingError(" ".join(found))
    now = timezone.now()
    with transaction.atomic():
        startable = Campaign.objects.filter(pk=campaign.pk, status__in=STARTABLE)
        if not startable.update(status=Campaign.Status.SENDING, started_at=now, heartbeat_at=now):
            return 0
        count = create_sends(campaign=campaign)
        Campaign.objects.filter(pk=campaign.pk).update(recipients=count)
        transaction.on_commit(lambda: _enqueue_from_request(campaign.pk))
    return count


def create_sends(*, campaign: Campaign) -> int:
    """One pending Send per recipient, set-based; rows that already exist are left as they are."""
    constants = {
        "s_source": Value(campaign.source, CharField()), "s_campaign": Value(campaign.pk, IntegerField()),
        "s_status": Value(Send.Status.PENDING, CharField()), "s_zero": Value(0, IntegerField()),
        "s_empty": Value("", CharField()), "s_false": Value(False), "s_now": Value(timezone.now(), DateTimeField()),
    }  # fmt: skip
    rows = recipients(campaign=campaign).annotate(**constants).values_list(
        "s_source", "s_campaign", "pk", "email", "s_status", "s_zero", "s_empty", "s_empty", "s_empty", "s_false",
        "s_now",
    )  # fmt: skip
    select, params = rows.query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(c) for c in SEND_COLUMNS)
    table = connection.ops.quote_name(Send._meta.db_table)
    if connection.vendor == "sqlite":
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) {select}"
    else:
        sql = f"INSERT INTO {table} ({columns}) {select} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return Send.objects.filter(source=campaign.source).count()


def pause(*, campaign: Campaign, reason: str = "") -> bool:
    """Stop after the current chunk; unsent rows wait, claimed ones finish."""
    updated = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING)
    return bool(updated.update(status=Campaign.Status.PAUSED, paused_reason=reason[:255]))


def resume(*, campaign: Campaign) -> bool:
    with transaction.atomic():
        resumable = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.PAUSED)
        if not resumable.update(status=Campaign.Status.SENDING, paused_reason="", heartbeat_at=timezone.now()):
            return False
        transaction.on_commit(lambda: _enqueue_from_request(campaign.pk))
    return True


def start_due(*, now=None) -> int:
    """Start the scheduled campaigns whose time has come; how many started."""
    due = Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now or timezone.now())
    started = 0
    for campaign in due.order_by("scheduled_at")[:100]:
        try:
            started += bool(start(campaign=campaign))
        except SendingError as exc:  # never sent half-configured: paused, with the reason shown in the admin
            Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SCHEDULED).update(
                status=Campaign.Status.PAUSED, paused_reason=str(exc)[:255]
            )
    return started


def progress(*, campaign: Campaign) -> dict[str, int]:
    """Counts of the campaign's sends by status (one grouped query)."""
    from django.db.models import Count

    counts = dict(Send.objects.filter(source=campaign.source).values_list("status").annotate(n=Count("pk")))
    return {status: counts.get(status, 0) for status in Send.Status.values} | {"total": sum(counts.values())}


def finish_if_done(*, campaign_id: int) -> bool:
    """Mark the campaign sent when nothing is left to send; exact counters then."""
    source = Campaign(pk=campaign_id).source
    open_rows = Send.objects.filter(source=source, status__in=OPEN)
    done = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).filter(~Exists(open_rows))
    if not done.update(status=Campaign.Status.SENT, finished_at=timezone.now()):
        return False
    counts = progress(campaign=Campaign(pk=campaign_id))
    Campaign.objects.filter(pk=campaign_id).update(sent_count=counts["sent"], failed_count=counts["failed"])
    return True


def run_batch(*, campaign_id: int, after_id: int) -> None:
    """Send the next batch of pending rows after `after_id`; queue the following batch first."""
    campaign = Campaign.objects.select_related("template").filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.SENDING:
        return
    ids = list(_due(campaign.source).filter(pk__gt=after_id).order_by("pk").values_list("pk", flat=True)[
        : settings.SEND_BATCH_SIZE])  # fmt: skip
    if not ids:
        _tail(campaign)
        return
    enqueue_batch(campaign.pk, ids[-1])
    skip_unmailable(send_ids=ids)
    run = Run(campaign)
    try:
        run.deliver(ids)
    finally:
        run.close()
    record_sent(send_ids=ids)
    finish_if_done(campaign_id=campaign.pk)


def _due(source: str) -> QuerySet:
    return Send.objects.filter(source=source, status=Send.Status.PENDING).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=timezone.now())
    )


def _tail(campaign: Campaign) -> None:
    """No pending row is due after the last batch: finish. Retries and lost batches are the sweeper's
    (`recover`): a countdown task would spin in eager mode and outlive a broker restart anyway."""
    finish_if_done(campaign_id=campaign.pk)


def skip_unmailable(*, send_ids: list[int]) -> int:
    """Rows whose lead stopped being mailable since the campaign started are skipped, not sent."""
    gone = Send.objects.filter(pk__in=send_ids, status=Send.Status.PENDING).exclude(
        lead__in=Lead.objects.filter(mailable())
    )
    return gone.update(status=Send.Status.SKIPPED, error=_("not mailable at send time"))


def deliver(*, send_ids: list[int], template: EmailTemplate) -> tuple[int, int]:
    """Send these pending sends with `template` now (step and trigger emails: no campaign); (sent, failed).

    The same claim → compose → hand over → settle path as a broadcast, with the same guarantee.
    """
    skip_unmailable(send_ids=send_ids)
    run = Run(template=template)
    try:
        run.deliver(send_ids)
    finally:
        run.close()
    record_sent(send_ids=send_ids)
    return run.sent, run.failures


def enqueue_batch(campaign_id: int, after_id: int) -> None:
    from campaigns.tasks import send_batch

    send_batch.delay(campaign_id, after_id)


def _enqueue_from_request(campaign_id: int) -> None:
    from campaigns.tasks import send_batch

    # If the broker is down, the sweeper restarts the campaign once its heartbeat is old.
    try_enqueue(send_batch, (campaign_id, 0), what=f"campaign {campaign_id}")


class Run:
    """One batch task's sending: one composer and one connection for all its chunks."""

    def __init__(self, campaign: Campaign | None = None, *, template: EmailTemplate | None = None):
        self.campaign = campaign  # None for the automation's step and trigger emails
        template = template or campaign.template
        utm = _utm(campaign) if campaign else None
        self.composer = Composer(template=template, sender=SenderIdentity.load(), utm=utm)
        self.transport = transports.for_settings(self.composer)
        self.attempted = self.failures = self.sent = 0
        _commit_without_flush(True)

    def close(self) -> None:
        try:
            _commit_without_flush(False)
        finally:  # even when the database is gone: an SMTP connection left open mid-DATA lingers for minutes
            self.transport.close()

    def deliver(self, ids: list[int]) -> None:
        pending = list(ids)
        while pending and self._still_sending():
            grant = throttle.take(min(CHUNK, len(pending)))
            if not grant.count and grant.wait > 5:  # the hour's budget is spent: the sweeper restarts us later
                return
            if not grant.count:
                time.sleep(grant.wait)
                continue
            chunk, pending = pending[: grant.count], pending[grant.count :]
            sent, failed = self.send_chunk(chunk)
            self.sent += sent
            self._progress(sent, failed)

    def send_chunk(self, ids: list[int]) -> tuple[int, int]:
        token = uuid.uuid4().hex
        sent = failed = 0
        for row in claim(send_ids=ids, token=token):
            message_id = self.composer.message_id(send_id=row["id"], token=token)
            # Half-width: an address typed full-width (stored as entered) is the same mailbox, and SMTP needs ASCII.
            out = self.composer.compose(send_id=row["id"], to=normalize.fold(row["email"]), context=context_for(row),
                                        message_id=message_id)  # fmt: skip
            commit = partial(self._commit, row["id"], token, message_id)
            outcome = self.transport.send(out, commit=commit)
            ok = settle(send_id=row["id"], token=token, attempts=row["attempts"], outcome=outcome,
                        two_phase=self.transport.two_phase, lead_id=row["lead_id"])  # fmt: skip
            sent += ok is True
            failed += ok is False
        return sent, failed

    def _commit(self, send_id: int, token: str, message_id: str) -> bool:
        """Our claim becomes "sent" (SMTP, just before the dot) or "handing" (before an API call); False if lost."""
        if self.transport.two_phase:
            return marking.mark_sent(send_id=send_id, token=token, message_id=message_id)
        return marking.mark_handing(send_id=send_id, token=token)

    def _still_sending(self) -> bool:
        if self.campaign is None:
            return True
        return Campaign.objects.filter(pk=self.campaign.pk, status=Campaign.Status.SENDING).exists()

    def _progress(self, sent: int, failed: int) -> None:
        self.attempted += sent + failed
        self.failures += failed
        if self.campaign is None:
            return
        Campaign.objects.filter(pk=self.campaign.pk).update(
            sent_count=F("sent_count") + sent, heartbeat_at=timezone.now()
        )
        if self.attempted >= 20 and self.failures * 100 >= settings.SEND_PAUSE_FAILURE_PERCENT * self.attempted:
            reason = _("Paused automatically: %(failed)s of the last %(tried)s messages failed.")
            pause(campaign=self.campaign, reason=reason % {"failed": self.failures, "tried": self.attempted})


def _commit_without_flush(on: bool) -> None:
    """PostgreSQL: the per-message commits of a run return without waiting for the WAL flush.

    A killed worker loses nothing by this (the server has the commit); only a crash of the
    database server itself within ~0.6 s could forget "sent" marks and send those messages
    again. Waiting for the disk instead costs a flush per message, which on a busy disk caps
    a worker at a few dozen messages a second.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO %s" % ("off" if on else "DEFAULT"))


def _utm(campaign: Campaign) -> dict[str, str] | None:
    if not campaign.utm_campaign:
        return None
    return {"utm_source": "mautomation", "utm_medium": "email", "utm_campaign": campaign.utm_campaign}


def claim(*, send_ids: list[int], token: str) -> list[dict]:
    """Take the still-pending rows among `send_ids` for this run, with what their messages need."""
    now = timezone.now()
    Send.objects.filter(pk__in=send_ids, status=Send.Status.PENDING).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    ).update(status=Send.Status.CLAIMED, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
    rows = Send.objects.filter(pk__in=send_ids, claim_token=token, status=Send.Status.CLAIMED).order_by("pk")
    return list(rows.values("id", "email", "lead_id", "attempts", *LEAD_VALUES, *COMPANY_VALUES))


def retry_time(attempts: int):
    """Back-off for temporary errors: 1, 2, 4, 8… minutes, at most an hour."""
    return timezone.now() + timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def settle(*, send_id: int, token: str, attempts: int, outcome, two_phase: bool, lead_id: int) -> bool | None:
    """Record the outcome; True when sent, False when it failed (for now or for good), None when lost."""
    if outcome.kind == transports.LOST:
        return None
    if outcome.kind == transports.SENT and two_phase and not outcome.error:
        return True  # the commit before the dot recorded it (most messages: no query here)
    mine = Send.objects.filter(pk=send_id, claim_token=token)
    if outcome.kind == transports.SENT:
        if not two_phase:
            mine.filter(status=Send.Status.HANDING).update(
                status=Send.Status.SENT, sent_at=timezone.now(), message_id=outcome.message_id
            )
        elif outcome.error:
            mine.update(error=outcome.error)
        return True
    mine = mine.filter(status__in=[Send.Status.CLAIMED, Send.Status.HANDING, Send.Status.SENT])
    if outcome.kind == transports.TEMPORARY and attempts < settings.SEND_MAX_ATTEMPTS:
        mine.update(status=Send.Status.PENDING, retry_at=retry_time(attempts), error=outcome.error, sent_at=None,
                    message_id="")  # fmt: skip
        return False
    mine.update(status=Send.Status.FAILED, error=outcome.error, sent_at=None, message_id="")
    Campaign.objects.filter(sends=send_id).update(failed_count=F("failed_count") + 1)
    if outcome.kind == transports.PERMANENT:
        mark_bounced(lead_id=lead_id, send_id=send_id, error=outcome.error)
    return False


def mark_bounced(*, lead_id: int, send_id: int, error: str) -> None:
    """A permanent refusal: no more mail to this address (a complaint, the stronger state, is kept)."""
    Lead.objects.filter(pk=lead_id, email_status__in=[Lead.EmailStatus.OK, Lead.EmailStatus.UNSUBSCRIBED]).update(
        email_status=Lead.EmailStatus.BOUNCED
    )
    campaign_id = Send.objects.filter(pk=send_id).values_list("campaign_id", flat=True).first()
    data = {"send_id": send_id, "error": error, "permanent": True}
    lead = Lead(pk=lead_id)
    stream.record(
        kind=Activity.Kind.EMAIL_BOUNCED, lead=lead, campaign_id=campaign_id, data=data, dedup_key=f"bounce:{send_id}"
    )


def record_sent(*, send_ids: list[int] | None = None, older_than: timedelta | None = None) -> int:
    """An email_sent activity for each sent row that has none yet, in one insert; consumers run on a worker."""
    with transaction.atomic():
        # Waits for rows another run is recording (then sees them recorded); pk order avoids deadlocks.
        rows = Send.objects.select_for_update().filter(status=Send.Status.SENT, recorded=False).order_by("pk")
        if send_ids is not None:
            rows = rows.filter(pk__in=send_ids)
        if older_than is not None:
            rows = rows.filter(sent_at__lt=timezone.now() - older_than)
        found = list(rows.values_list("pk", "lead_id", "campaign_id", "sent_at", "source")[:5000])
        if not found:
            return 0
        activities = Activity.objects.bulk_create(
            Activity(lead_id=lead_id, kind=Activity.Kind.EMAIL_SENT, campaign_id=campaign_id, occurred_at=sent_at,
                     data={"send_id": pk, "source": source})
            for pk, lead_id, campaign_id, sent_at, source in found
        )  # fmt: skip
        Send.objects.filter(pk__in=[row[0] for row in found]).update(recorded=True)
        ids = [activity.pk for activity in activities]
        transaction.on_commit(lambda: stream.dispatch(ids))
    return len(found)


def recover(*, older_than: timedelta | None = None) -> dict[str, int]:
    """The sweeper: resolve claims of dead workers, record what they sent, restart quiet campaigns."""
    older_than = older_than if older_than is not None else timedelta(seconds=settings.SEND_CLAIM_TIMEOUT)
    cutoff = timezone.now() - older_than
    stale = Send.objects.filter(claimed_at__lt=cutoff)
    released = stale.filter(status=Send.Status.CLAIMED).update(status=Send.Status.PENDING, claim_token="")
    review = stale.filter(status=Send.Status.HANDING).update(
        status=Send.Status.REVIEW, error=_("The worker stopped while the email service had the message.")
    )
    recorded = record_sent(older_than=older_than)
    retries = Send.objects.filter(campaign=OuterRef("pk"), status=Send.Status.PENDING, retry_at__lte=timezone.now())
    quiet = Campaign.objects.filter(Q(heartbeat_at__lt=cutoff) | Exists(retries), status=Campaign.Status.SENDING)
    restarted = 0
    for campaign_id in quiet.values_list("pk", flat=True):
        Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
        if not finish_if_done(campaign_id=campaign_id):
            restarted += try_enqueue(_send_batch_task(), (campaign_id, 0), what=f"campaign {campaign_id}")
    return {"released": released, "review": review, "recorded": recorded, "restarted": restarted}


def _send_batch_task():
    from campaigns.tasks import send_batch

    return send_batch
