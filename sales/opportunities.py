"""Converting a lead into an opportunity and moving it through its stages.

The lead's lifecycle stage follows (opportunity on conversion, customer when won);
each change is a stage_changed activity, every opportunity stage change a row of
its history, and the CRM webhooks hear of both after commit.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from leads import stream
from leads.merging import STAGE_ORDER
from leads.models import Activity, Lead
from sales import attribution, webhooks
from sales.models import Opportunity, OpportunityStageChange

Event = webhooks.WebhookEndpoint.Event


@dataclass
class Terms:
    name: str
    amount: Decimal
    expected_close: date


@transaction.atomic
def convert(*, lead: Lead, terms: Terms, user: AbstractBaseUser) -> Opportunity:
    """A new opportunity owned by `user`, with its attribution; the lead becomes an opportunity."""
    now = timezone.now()
    opportunity = Opportunity.objects.create(
        lead=lead, company_id=lead.company_id, owner=user, created_at=now, **terms.__dict__
    )
    OpportunityStageChange.objects.create(opportunity=opportunity, to_stage=opportunity.stage, at=now, by=user)
    attribution.attribute(opportunity=opportunity, converted_at=now)
    advance_lead(lead=lead, to=Lead.Stage.OPPORTUNITY, data={"opportunity": opportunity.pk})
    if lead.owner_id is None:
        Lead.objects.filter(pk=lead.pk, owner__isnull=True).update(owner=user)
    webhooks.notify(event=Event.OPPORTUNITY_CREATED, payload=webhooks.opportunity_payload(opportunity))
    return opportunity


@transaction.atomic
def change_stage(*, opportunity: Opportunity, to: str, user: AbstractBaseUser) -> bool:
    """Move to another stage; False when it already is there. Won makes the lead a customer."""
    previous = opportunity.stage
    if to == previous:
        return False
    opportunity.stage = to
    opportunity.closed_at = timezone.now() if to in Opportunity.CLOSED else None
    opportunity.save(update_fields=["stage", "closed_at", "updated_at"])
    OpportunityStageChange.objects.create(opportunity=opportunity, from_stage=previous, to_stage=to, by=user)
    if to == Opportunity.Stage.WON:
        advance_lead(lead=opportunity.lead, to=Lead.Stage.CUSTOMER, data={"opportunity": opportunity.pk})
    payload = webhooks.opportunity_payload(opportunity, previous_stage=previous)
    webhooks.notify(event=Event.OPPORTUNITY_CHANGED, payload=payload)
    return True


@transaction.atomic
def update_terms(*, opportunity: Opportunity, terms: Terms) -> bool:
    """New name, amount or close date; False (and no webhook) when nothing changed."""
    if all(getattr(opportunity, name) == value for name, value in terms.__dict__.items()):
        return False
    for name, value in terms.__dict__.items():
        setattr(opportunity, name, value)
    opportunity.save(update_fields=[*terms.__dict__, "updated_at"])
    webhooks.notify(event=Event.OPPORTUNITY_CHANGED, payload=webhooks.opportunity_payload(opportunity))
    return True


def advance_lead(*, lead: Lead, to: str, data: dict) -> bool:
    """Move the lead forward in its lifecycle, never back (a won customer stays one)."""
    current = Lead.objects.values_list("stage", flat=True).get(pk=lead.pk)
    if STAGE_ORDER.index(current) >= STAGE_ORDER.index(to):
        return False
    Lead.objects.filter(pk=lead.pk).update(stage=to)
    lead.stage = to
    stream.record(kind=Activity.Kind.STAGE_CHANGED, lead=lead, data={"from": current, "to": to, **data})
    return True
