"""The one door from automation to campaigns/sending.py: deliver the pending sends of given sources.

Step sends are "step:<step id>:<enrollment id>", trigger sends "trig:<fire id>";
both have no campaign. A send left pending (a lost task, a killed worker whose
claim the send sweeper released) is delivered again by `redeliver_pending`.
"""

import re
from collections import defaultdict
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from campaigns.automation_models import Step, TriggerFire
from campaigns.models import EmailTemplate, Send

BATCH = 500
AUTOMATION = Q(source__startswith="step:") | Q(source__startswith="trig:")
STEP_SOURCE = re.compile(r"step:(\d{1,18}):\d{1,18}\Z")  # a hand-made row with another shape is left alone
FIRE_SOURCE = re.compile(r"trig:(\d{1,18})\Z")


def deliver_sources(*, template_id: int, sources: list[str]) -> int:
    """Hand the pending sends of these sources to the sending module; how many were sent."""
    template = EmailTemplate.objects.filter(pk=template_id).first()
    if template is None:
        return 0
    ids = list(Send.objects.filter(source__in=sources, status=Send.Status.PENDING).values_list("pk", flat=True))
    sent = 0
    for start in range(0, len(ids), BATCH):
        sent += _deliver(send_ids=ids[start : start + BATCH], template=template)
    return sent


def _deliver(*, send_ids: list[int], template: EmailTemplate) -> int:
    """The sending module's claim → compose → hand over → settle path, for sends without a campaign."""
    from campaigns import sending

    return sending.deliver(send_ids=send_ids, template=template)[0]


def redeliver_pending(*, older_than: timedelta = timedelta(minutes=2), limit: int = 5000) -> int:
    """Pending automation sends nobody is delivering: group them by template and deliver them."""
    now = timezone.now()
    rows = Send.objects.filter(AUTOMATION, status=Send.Status.PENDING, created_at__lt=now - older_than).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )
    sources = list(rows.values_list("source", flat=True)[:limit])
    sent = 0
    for template_id, group in templates_of(sources).items():
        sent += deliver_sources(template_id=template_id, sources=group)
    return sent


def templates_of(sources: list[str]) -> dict[int, list[str]]:
    """Template id → sources, from the step or the trigger named in each source (two queries)."""
    steps = {s: int(m[1]) for s in sources if (m := STEP_SOURCE.match(s))}
    fires = {s: int(m[1]) for s in sources if (m := FIRE_SOURCE.match(s))}
    step_templates = dict(Step.objects.filter(pk__in=set(steps.values())).values_list("pk", "template_id"))
    fire_templates = dict(TriggerFire.objects.filter(pk__in=set(fires.values())).values_list(
        "pk", "trigger__template_id"))  # fmt: skip
    grouped = defaultdict(list)
    for source, pk in steps.items():
        grouped[step_templates.get(pk)].append(source)
    for source, pk in fires.items():
        grouped[fire_templates.get(pk)].append(source)
    grouped.pop(None, None)
    return dict(grouped)
