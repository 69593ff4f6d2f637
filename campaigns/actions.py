"""Staff actions and trigger emails: what a trigger fire does, by kind (a lookup table, like transports).

Each action returns (status, error). Fires run at most once (claimed before the
action); a webhook that fails is recorded as failed with the reason rather than
retried, so a marketer sees it on the trigger's fire list.
"""

from collections.abc import Callable

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns.automation_models import Action, TriggerFire
from campaigns.models import Send
from campaigns.sequences import MAILABLE
from leads import stream
from leads.models import Activity, Lead
from mautomation.lib.webhook_targets import url_problem
from mautomation.roles import MARKETER

WEBHOOK_TIMEOUT = 10
DONE, FAILED, SKIPPED = TriggerFire.Status.DONE, TriggerFire.Status.FAILED, TriggerFire.Status.SKIPPED


def perform(*, fire: TriggerFire) -> tuple[str, str]:
    try:
        return ACTIONS[fire.trigger.action](fire)
    except Exception as exc:  # recorded on the fire for the marketer; the stream and dispatcher go on
        return FAILED, f"{type(exc).__name__}: {exc}"


def send_email(fire: TriggerFire) -> tuple[str, str]:
    """The trigger's template, once: the send's source is the fire, unique with the lead."""
    from campaigns.automation_sending import deliver_sources

    if not Lead.objects.filter(MAILABLE, pk=fire.lead_id).exists():
        return SKIPPED, _("not mailable")
    source = f"trig:{fire.pk}"
    Send.objects.bulk_create([Send(source=source, lead_id=fire.lead_id, email=fire.lead.email)], ignore_conflicts=True)
    deliver_sources(template_id=fire.trigger.template_id, sources=[source])
    return DONE, ""


def notify_owner(fire: TriggerFire) -> tuple[str, str]:
    """An email to the lead's owner; without one, to every marketer, so the signal is not lost."""
    lead = fire.lead
    to = [lead.owner.email] if lead.owner_id and lead.owner.email else _marketers()
    if not to:
        return FAILED, _("nobody to notify: the lead has no owner and no marketer has an email address")
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Automation] %(trigger)s: %(lead)s") % {"trigger": fire.trigger.name, "lead": lead}
        body = _("%(lead)s (%(email)s) matched the trigger “%(trigger)s”.\n\n%(url)s\n") % {
            "lead": lead, "email": lead.email, "trigger": fire.trigger.name,
            "url": settings.SITE_URL + reverse("admin:leads_lead_change", args=[lead.pk]),
        }  # fmt: skip
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    return DONE, ""


def _marketers() -> list[str]:
    users = get_user_model().objects.filter(groups__name=MARKETER, is_active=True).exclude(email="")
    return list(users.values_list("email", flat=True))


def add_tag(fire: TriggerFire) -> tuple[str, str]:
    fire.lead.tags.add(fire.trigger.tag_id)
    return DONE, ""


def change_stage(fire: TriggerFire) -> tuple[str, str]:
    before = fire.lead.stage
    if not Lead.objects.filter(pk=fire.lead_id).exclude(stage=fire.trigger.stage).update(stage=fire.trigger.stage):
        return DONE, ""
    data = {"from": before, "to": fire.trigger.stage, "by": "automation", "trigger_id": fire.trigger_id}
    stream.record(kind=Activity.Kind.STAGE_CHANGED, lead=fire.lead, data=data)
    return DONE, ""


def call_webhook(fire: TriggerFire) -> tuple[str, str]:
    if problem := url_problem(fire.trigger.webhook_url):
        return FAILED, problem
    body = {"event": "automation.trigger", "trigger": fire.trigger.name, "trigger_id": fire.trigger_id,
            "occurred_at": timezone.now().isoformat(), "lead": fire.lead.webhook_payload()}  # fmt: skip
    response = requests.post(fire.trigger.webhook_url, json=body, timeout=WEBHOOK_TIMEOUT, allow_redirects=False)
    if response.status_code >= 300:
        return FAILED, _("The webhook answered HTTP %(status)s.") % {"status": response.status_code}
    return DONE, ""


ACTIONS: dict[str, Callable[[TriggerFire], tuple[str, str]]] = {
    Action.SEND_EMAIL: send_email,
    Action.NOTIFY_OWNER: notify_owner,
    Action.ADD_TAG: add_tag,
    Action.CHANGE_STAGE: change_stage,
    Action.WEBHOOK: call_webhook,
}
