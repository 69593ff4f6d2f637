"""The automation's stream consumer: exits first, then entries into sequences, then trigger fires.

Registered from CampaignsConfig.ready(); it runs inside the stream's
exactly-once claim, after scoring (registered earlier), so `Lead.score` already
includes this event. List and segment entries record no activity: the periodic
dispatcher looks for them (`enter_from_lists_and_segments`).
"""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.automation_models import Enrollment, Entry, Sequence
from campaigns.sequences import DONE_STAGES, SequenceError, end, enroll
from leads.models import Activity, Lead, ListMembership
from leads.segments import segment_members

GONE_KINDS = {Activity.Kind.UNSUBSCRIBED, Activity.Kind.EMAIL_BOUNCED}
SEGMENT_BATCH = 10_000


def on_activity(activity: Activity) -> None:
    from campaigns.triggers import fire_on

    exit_on(activity)
    for sequence in entered_by(activity):
        try:
            enroll(sequence=sequence, lead_ids=[activity.lead_id], source=activity.kind, now=activity.occurred_at)
        except SequenceError:
            continue  # an active sequence whose steps were all removed: nothing to enroll into
    fire_on(activity)


def exit_on(activity: Activity) -> int:
    mine = Q(lead_id=activity.lead_id)
    if activity.kind in GONE_KINDS:
        return end(enrollments=mine, reason=_("unsubscribed or not mailable"))
    if activity.kind == Activity.Kind.STAGE_CHANGED and (activity.data or {}).get("to") in DONE_STAGES:
        return end(enrollments=mine, reason=_("became an opportunity"))
    if activity.kind == Activity.Kind.FORM_SUBMIT and activity.form_id:
        return end(enrollments=mine & Q(sequence__goal_form_id=activity.form_id), reason=_("submitted the goal form"))
    return 0


def entered_by(activity: Activity) -> list[Sequence]:
    active = Sequence.objects.filter(status=Sequence.Status.ACTIVE)
    kind, data = activity.kind, activity.data or {}
    if kind == Activity.Kind.FORM_SUBMIT:
        form = Q(entry_form_id__isnull=True) | Q(entry_form_id=activity.form_id)
        found = active.filter(form, entry=Entry.FORM_SUBMIT)
    elif kind == Activity.Kind.DOWNLOAD:
        found = [s for s in active.filter(entry=Entry.DOWNLOAD) if s.entry_url in (activity.url or "")]
    elif kind == Activity.Kind.STAGE_CHANGED and data.get("to"):
        found = active.filter(entry=Entry.STAGE_CHANGED, entry_stage=data["to"])
    else:
        found = []
    return [*found, *_score_reached(activity.lead_id, active)]


def _score_reached(lead_id: int, active) -> list[Sequence]:
    """Score entries enroll a lead once per sequence, whatever re-entry says: a score stays above for long."""
    score = Lead.objects.filter(pk=lead_id).values_list("score", flat=True).first() or 0
    before = Enrollment.objects.filter(lead_id=lead_id)  # skipped ones too: not one skipped row per event
    return list(active.filter(entry=Entry.SCORE_REACHED, entry_score__lte=score).exclude(
        pk__in=before.values("sequence_id")))  # fmt: skip


def enter_from_lists_and_segments(*, now: datetime | None = None) -> int:
    """Periodic: enroll who joined an entry list since the last look, and new members of entry segments."""
    now = now or timezone.now()
    entered = 0
    for sequence in Sequence.objects.filter(status=Sequence.Status.ACTIVE, entry=Entry.LIST_JOINED,
                                            entry_list__isnull=False):  # fmt: skip
        since = sequence.entry_checked_at or sequence.created_at
        joined = ListMembership.objects.filter(lead_list=sequence.entry_list_id, added_at__gt=since, added_at__lte=now)
        entered += _enroll_quietly(sequence, list(joined.values_list("lead_id", flat=True)), "list", now)
    for sequence in Sequence.objects.filter(status=Sequence.Status.ACTIVE, entry=Entry.SEGMENT_ENTERED,
                                            entry_segment__isnull=False).select_related("entry_segment"):  # fmt: skip
        before = Enrollment.objects.filter(sequence=sequence)
        members = segment_members(sequence.entry_segment).exclude(pk__in=before.values("lead_id"))
        entered += _enroll_quietly(sequence, list(members.values_list("pk", flat=True)[:SEGMENT_BATCH]), "segment", now)
    return entered


def _enroll_quietly(sequence: Sequence, lead_ids: list[int], source: str, now: datetime) -> int:
    try:
        done = enroll(sequence=sequence, lead_ids=lead_ids, source=source, now=now).enrolled if lead_ids else 0
    except SequenceError:
        return 0
    Sequence.objects.filter(pk=sequence.pk).update(entry_checked_at=now)
    return done
