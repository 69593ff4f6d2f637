"""Who may see and do what in the sales workspace; every view and the API ask here."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from leads.models import Lead
from sales.models import Opportunity

READ_LEADS = "leads.view_lead"
WORK_LEADS = "sales.work_leads"
MANAGE_ALL = "sales.manage_all_opportunities"


def can_read(user: AbstractBaseUser) -> bool:
    return user.is_active and user.has_perm(READ_LEADS)


def can_work(user: AbstractBaseUser) -> bool:
    return user.is_active and user.has_perm(WORK_LEADS)


def manages_all(user: AbstractBaseUser) -> bool:
    """Marketers and superusers act on every opportunity; a sales user on their own."""
    return user.has_perm(MANAGE_ALL)


def visible_opportunities(user: AbstractBaseUser) -> QuerySet[Opportunity]:
    opportunities = Opportunity.objects.all()
    return opportunities if manages_all(user) else opportunities.filter(owner=user)


def may_take(user: AbstractBaseUser, lead: Lead) -> bool:
    """Claiming or passing on a lead: one nobody owns or one's own; a manager any."""
    return lead.owner_id in (None, user.pk) or manages_all(user)
