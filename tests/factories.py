"""Small builders for test data; each returns a saved object."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from leads.models import Activity, Lead


def make_user(username: str = "user", *, role: str | None = None, staff: bool = True, superuser: bool = False):
    user = get_user_model().objects.create_user(
        username=username, password="pw-" + username, is_staff=staff, is_superuser=superuser
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_lead(email: str = "taro@example.com", **fields) -> Lead:
    return Lead.objects.create(email=email, **fields)


def make_activity(lead: Lead, kind: str = Activity.Kind.PAGE_VIEW, **fields) -> Activity:
    return Activity.objects.create(lead=lead, kind=kind, **fields)


def make_template(**fields):
    from campaigns.models import EmailTemplate

    defaults = {
        "name": "Newsletter",
        "subject": "お知らせ {{ lead.last_name }}",
        "html": "<style>p { color: red }</style><p>{{ lead.last_name }} {{ lead.first_name }} 様</p>"
        '<p><a href="https://www.example.com/doc">資料</a></p>',
        "text": "{{ lead.last_name }} {{ lead.first_name }} 様\nhttps://www.example.com/doc\n",
    }
    return EmailTemplate.objects.create(**{**defaults, **fields})


def make_campaign(template=None, **fields):
    from campaigns.models import Campaign

    return Campaign.objects.create(
        name=fields.pop("name", "November newsletter"), template=template or make_template(), **fields
    )


def make_sender():
    from campaigns.models import SenderIdentity

    return SenderIdentity.objects.create(
        name="株式会社テスト", postal_address="東京都千代田区1-1", contact_email="info@example.com"
    )


def make_opportunity(lead: Lead, owner, **fields):
    """An opportunity through the conversion itself, so history and attribution are as in real use."""
    from datetime import date, timedelta
    from decimal import Decimal

    from sales.opportunities import Terms, convert

    terms = Terms(
        name=fields.pop("name", f"{lead.email} deal"),
        amount=fields.pop("amount", Decimal("1000000")),
        expected_close=fields.pop("expected_close", date.today() + timedelta(days=30)),
    )
    return convert(lead=lead, terms=terms, user=owner)


def make_send(lead: Lead | None = None, campaign=None, **fields):
    """A sent message to `lead` (a new one by default), for tracking and webhook tests."""
    from django.utils import timezone

    from campaigns.models import Send

    lead = lead or make_lead(f"send{Lead.objects.count()}@example.com", consent=True)
    defaults = {"source": f"campaign:{campaign.pk}" if campaign else "test", "status": Send.Status.SENT}
    defaults.update(email=lead.email, sent_at=timezone.now())
    return Send.objects.create(lead=lead, campaign=campaign, **{**defaults, **fields})


def make_list(*leads, kind: str = "static", name: str = "Newsletter readers"):
    from leads.models import LeadList, ListMembership

    lead_list = LeadList.objects.create(name=name, kind=kind)
    ListMembership.objects.bulk_create(ListMembership(lead_list=lead_list, lead=lead) for lead in leads)
    return lead_list
