"""The daily digest: each owner gets one email listing the leads that became hot for them the day before.

Idempotent per owner and local day (DigestSent's unique constraint): the hourly
job and the management command may both run, a digest goes out once. If sending
fails, its DigestSent row rolls back with it and the next run tries again.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from leads.models import Lead
from sales.models import DigestSent

LEADS_MAX = 100  # per email; the rest are a click away in the workspace


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day before `day`, as aware datetimes: the leads a digest on `day` reports."""
    start = timezone.make_aware(datetime.combine(day - timedelta(days=1), time.min))
    return start, start + timedelta(days=1)


def new_hot_leads(day: date) -> QuerySet[Lead]:
    start, end = day_bounds(day)
    return Lead.objects.filter(mql_at__gte=start, mql_at__lt=end, owner__isnull=False)


def send_due(*, now: datetime | None = None) -> int:
    """The beat job: nothing before SALES_DIGEST_HOUR local time, then today's digests once."""
    if timezone.localtime(now).hour < settings.SALES_DIGEST_HOUR:
        return 0
    return send_digests()


def send_digests(*, day: date | None = None) -> int:
    """Send the digests of `day` (today) not sent yet; returns how many were sent."""
    day = day or timezone.localdate()
    owner_ids = set(new_hot_leads(day).values_list("owner_id", flat=True))
    owner_ids -= set(DigestSent.objects.filter(day=day).values_list("owner_id", flat=True))
    owners = get_user_model().objects.filter(pk__in=owner_ids, is_active=True).exclude(email="")
    return sum(_send_one(owner, day) for owner in owners)


def _send_one(owner, day: date) -> bool:
    leads = list(new_hot_leads(day).filter(owner=owner).order_by("-score", "pk")[:LEADS_MAX])
    try:
        with transaction.atomic():
            DigestSent.objects.create(owner=owner, day=day, leads=len(leads))
            _email(owner, leads, day)
    except IntegrityError:  # another run sent it a moment ago
        return False
    return True


def _email(owner, leads: list[Lead], day: date) -> None:
    base = settings.SITE_URL
    context = {
        "owner": owner,
        "leads": [(lead, base + reverse("sales:lead", args=[lead.pk])) for lead in leads],
        "day": day - timedelta(days=1),
        "url": base + reverse("sales:hot_leads") + "?owner=mine&new=1",
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("sales/digest_subject.txt", context).strip()
        body = render_to_string("sales/digest_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
