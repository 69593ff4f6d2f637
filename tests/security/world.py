"""One saved object of every kind the URLs name, and one user per role, for the security suite."""

from datetime import date, timedelta

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.authtoken.models import Token

from campaigns import tracking
from campaigns.automation_models import Enrollment, Sequence, Trigger, TriggerFire
from campaigns.models import Campaign, EmailTemplate, SenderIdentity
from landing import downloads, followups
from landing.models import Form, LandingPage, Submission
from leads.models import Activity, Company, Consent, CustomField, ImportJob, Lead, LeadList, Segment, Tag
from mautomation.demo import load_demo
from mautomation.roles import MARKETER, SALES
from reports.models import KpiTarget
from sales.models import DigestSent, Handback, Note, Opportunity, WebhookDelivery, WebhookEndpoint
from scoring.models import FitRule, ScoreEntry, ScoringRule, ScoringSettings
from tests.factories import make_send, make_user

MAIL = '<html><body><a href="https://www.example.com/doc">資料</a></body></html>'
ROLES = ("anonymous", "sales", "sales_staff", "marketer", "superuser")


def users() -> dict:
    """Sales users log in outside the admin (not staff); a staff sales user sees the admin's read-only pages."""
    return {
        "anonymous": None,
        "sales": make_user("sec-sales", role=SALES, staff=False),
        "sales_staff": make_user("sec-sales-staff", role=SALES),
        "marketer": make_user("sec-marketer", role=MARKETER),
        "superuser": make_user("sec-root", superuser=True),
    }


def build(people: dict) -> dict[str, object]:
    """The demo data plus one row of each remaining kind; keys are "app.model" and a few token names."""
    load_demo(leads=6)
    lead = Lead.objects.filter(opportunities__isnull=False).first()
    lead.owner = people["sales"]
    lead.save(update_fields=["owner"])
    Opportunity.objects.update(owner=people["sales"])
    objects = {**_leads_app(lead), **_campaigns_app(lead), **_landing_app(lead), **_sales_app(lead, people)}
    objects |= {"scoring.scoringrule": ScoringRule.objects.first(), "scoring.scoreentry": ScoreEntry.objects.first()}
    fit_rule = FitRule.objects.create(name="部長", field="title", operator="contains", value="部長", points=10)
    objects |= {"scoring.fitrule": fit_rule}
    objects |= {"scoring.scoringsettings": ScoringSettings.load(), "scoring.companyscore": lead.company}
    objects |= {"reports.kpitarget": KpiTarget.objects.create(metric="mqls", monthly_target=10)}
    objects |= {"auth.group": Group.objects.get(name=MARKETER), "auth.user": people["sales"]}
    objects |= {"authtoken.tokenproxy": Token.objects.create(user=people["superuser"]).user}
    objects |= {"contenttypes.lead": ContentType.objects.get_for_model(Lead)}
    return {key: getattr(value, "pk", value) for key, value in objects.items()}


def _leads_app(lead: Lead) -> dict:
    return {
        "leads.lead": lead,
        "leads.company": lead.company or Company.objects.first(),
        "leads.tag": Tag.objects.create(name="展示会"),
        "leads.customfield": CustomField.objects.create(key="budget", label="予算"),
        "leads.leadlist": LeadList.objects.create(name="展示会 2026"),
        "leads.segment": Segment.objects.create(
            name="部長", conditions=[{"field": "title", "op": "contains", "value": "部長"}]
        ),
        "leads.activity": Activity.objects.filter(lead=lead).first(),
        "leads.consent": Consent.objects.create(lead=lead, method="admin", wording="同意します"),
        "import": ImportJob.objects.create(file="imports/leads.csv", original_name="leads.csv"),
    }


def _campaigns_app(lead: Lead) -> dict:
    campaign = Campaign.objects.first()
    send = make_send(lead, campaign)
    sequence = Sequence.objects.create(name="ステップメール")
    trigger = Trigger.objects.create(name="料金ページ", action="add_tag", tag=Tag.objects.create(name="料金"))
    return {
        "campaigns.emailtemplate": EmailTemplate.objects.first(),
        "campaigns.campaign": campaign,
        "campaigns.send": send,
        "campaigns.senderidentity": SenderIdentity.objects.first(),
        "campaigns.sequence": sequence,
        "campaigns.enrollment": Enrollment.objects.create(sequence=sequence, lead=lead),
        "campaigns.trigger": trigger,
        "campaigns.triggerfire": TriggerFire.objects.create(trigger=trigger, lead=lead),
        "token:open": _token_of(_mail(send.pk), "/e/o/"),
        "token:click": _token_of(_mail(send.pk), "/e/c/").replace("&amp;", "&"),
        "token:unsubscribe": tracking.unsubscribe_url(send.pk).rsplit("/e/u/", 1)[1],
    }


def _landing_app(lead: Lead) -> dict:
    form = Form.objects.get(slug="whitepaper")
    submission = Submission.objects.create(form=form, lead=lead, data={"email": lead.email})
    return {
        "landing.form": form,
        "landing.landingpage": LandingPage.objects.get(slug="checklist"),
        "landing.submission": submission,
        "slug:form": form.slug,
        "slug:page": "checklist",
        "token:confirm": followups.confirm_token(submission),
        "token:download": downloads.download_url(submission).rstrip("/").rsplit("/", 1)[1],
    }


def _sales_app(lead: Lead, people: dict) -> dict:
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hook", events=["lead.mql"])
    return {
        "sales.opportunity": Opportunity.objects.first(),
        "sales.note": Note.objects.create(lead=lead, author=people["sales"], body="電話済み"),
        "sales.handback": Handback.objects.create(lead=lead, by=people["sales"], reason="budget", kind="recycle"),
        "sales.digestsent": DigestSent.objects.create(owner=people["sales"], day=date.today() - timedelta(days=1)),
        "sales.webhookendpoint": endpoint,
        "sales.webhookdelivery": WebhookDelivery.objects.create(endpoint=endpoint, event="lead.mql", payload={}),
        "stamp": timezone.now(),
    }


def _mail(send_id: int) -> str:
    return tracking.personalize(tracking.prepare(MAIL), send_id=send_id)


def _token_of(html: str, prefix: str) -> str:
    return html.split(prefix, 1)[1].split('"', 1)[0]
