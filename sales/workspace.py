"""What the workspace shows: the hot-lead list with its filters, and everything on a lead's page.

Each page reads a fixed number of queries whatever the number of leads and
events: lists are sliced in SQL, relations joined or prefetched, campaign and
form names looked up once per page for the ids shown.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.apps import apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from leads.models import Activity, Lead
from sales import access
from sales.models import Handback, Note, Opportunity
from scoring.fit import fit_rule_matches
from scoring.models import FitRule, ScoreEntry, ScoringSettings

HOT_STAGES = [Lead.Stage.MQL, Lead.Stage.SQL, Lead.Stage.OPPORTUNITY, Lead.Stage.CUSTOMER]
PAGE_SIZE = 50
TIMELINE_MAX, LEDGER_MAX, COLLEAGUES_MAX, NOTES_MAX = 100, 50, 20, 50
# What a lead did, for the timeline; score and stage changes are shown by the ledger and the stage.
TIMELINE_KINDS = [kind for kind in Activity.Kind.values if kind not in ("score_changed", "email_sent")]


def lead_url(lead: Lead) -> str:
    return reverse("sales:lead", args=[lead.pk])


def hot_list_url(owner_id: int | None) -> str:
    """The list a summary of new hot leads links to: the owner's own ones, or the unassigned ones (marketers)."""
    return reverse("sales:hot_leads") + ("?owner=mine" if owner_id is not None else "?owner=unassigned")


@dataclass
class Filters:
    owner: str = ""  # "", "mine" or "unassigned"
    stage: str = ""
    company: str = ""
    q: str = ""
    new: bool = False


def since_yesterday() -> datetime:
    """Local midnight yesterday: "new since yesterday" means yesterday's and today's hot leads."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(yesterday, time.min))


def hot_leads(*, user: AbstractBaseUser, filters: Filters) -> QuerySet[Lead]:
    """MQL and later, hottest and most recently active first."""
    leads = Lead.objects.filter(stage__in=[filters.stage] if filters.stage else HOT_STAGES)
    if filters.owner == "mine":
        leads = leads.filter(owner=user)
    elif filters.owner == "unassigned":
        leads = leads.filter(owner__isnull=True)
    if filters.company:
        leads = leads.filter(company_name__icontains=filters.company)
    if filters.new:
        leads = leads.filter(mql_at__gte=since_yesterday())
    if filters.q:
        text = filters.q
        leads = leads.filter(
            Q(email__icontains=text) | Q(last_name__icontains=text) | Q(first_name__icontains=text)
            | Q(company_name__icontains=text) | Q(title__icontains=text)
        )  # fmt: skip
    order = ["-score", F("last_activity_at").desc(nulls_last=True), "-pk"]
    return leads.select_related("owner").order_by(*order)


# What the list shows: loading only these keeps JSON columns (custom, touches) out of each row.
LIST_FIELDS = ("email", "last_name", "first_name", "company_name", "title", "stage", "score", "last_activity_at")
LIST_FIELDS += ("owner__username",)


def list_rows(leads: list[Lead]) -> list[Lead]:
    """Set `url`, `stage_label` and `last_seen` on each row of a page, once per page rather than
    per row in the template (reverse(), lazy choice labels and the date filter cost ~0.2 ms a row)."""
    labels = {value: str(label) for value, label in Lead.Stage.choices}
    prefix = reverse("sales:lead", args=[0]).removesuffix("0/")
    for lead in leads:
        lead.url = f"{prefix}{lead.pk}/"
        lead.stage_label = labels.get(lead.stage, lead.stage)
        seen = lead.last_activity_at
        lead.last_seen = f"{timezone.localtime(seen):%Y-%m-%d %H:%M}" if seen else "-"
    return leads


@dataclass
class LeadPage:
    lead: Lead
    colleagues: list[Lead]
    ledger: list[ScoreEntry]
    fit: list[FitRule]
    timeline: list[Activity]
    notes: list[Note]
    opportunities: list[Opportunity]
    handbacks: list[Handback]
    threshold: int


def lead_page(*, lead_id: int, user: AbstractBaseUser) -> LeadPage:
    """Everything the lead page shows, in a dozen queries whatever the lead's history. 404s are the view's."""
    lead = Lead.objects.select_related("company", "owner").prefetch_related("consents").get(pk=lead_id)
    timeline = list(lead.activities.filter(kind__in=TIMELINE_KINDS).order_by("-occurred_at", "-pk")[:TIMELINE_MAX])
    rules = FitRule.objects.filter(active=True)
    return LeadPage(
        lead=lead,
        colleagues=_colleagues(lead),
        ledger=list(lead.score_entries.select_related("rule").order_by("-created_at", "-pk")[:LEDGER_MAX]),
        fit=[rule for rule in rules if fit_rule_matches(rule, lead)],
        timeline=label_sources(timeline),
        notes=list(lead.sales_notes.select_related("author")[:NOTES_MAX]),
        opportunities=list(access.visible_opportunities(user).filter(lead=lead).select_related("owner")),
        handbacks=list(lead.handbacks.select_related("by")[:10]),
        threshold=ScoringSettings.load().hot_threshold,
    )


def _colleagues(lead: Lead) -> list[Lead]:
    if not lead.company_id:
        return []
    others = Lead.objects.filter(company_id=lead.company_id).exclude(pk=lead.pk).select_related("owner")
    return list(others.order_by("-score", "pk")[:COLLEAGUES_MAX])


def label_sources(items: list) -> list:
    """Set `source` (the campaign's or form's name, #id when it is gone), `kind_label` and `when`
    on each activity or touch: once per page, not per row in the template."""
    names = names_for(items)
    kinds = {value: str(label) for value, label in Activity.Kind.choices}
    for item in items:
        if item.campaign_id:
            item.source = names["campaign"].get(item.campaign_id, f"#{item.campaign_id}")
        elif item.form_id:
            item.source = names["form"].get(item.form_id, f"#{item.form_id}")
        else:
            item.source = ""
        item.kind_label = kinds.get(item.kind, item.kind)
        item.when = f"{timezone.localtime(item.occurred_at):%Y-%m-%d %H:%M}"
    return items


def names_for(activities: list) -> dict[str, dict[int, str]]:
    """Campaign and form names for the ids on these activities: one query each, if those apps are installed."""
    wanted = {
        "campaign": ({a.campaign_id for a in activities if a.campaign_id}, "campaigns", "Campaign"),
        "form": ({a.form_id for a in activities if a.form_id}, "landing", "Form"),
    }
    names: dict[str, dict[int, str]] = {}
    for key, (ids, app_label, model_name) in wanted.items():
        names[key] = _names(ids, app_label, model_name) if ids else {}
    return names


def _names(ids: set[int], app_label: str, model_name: str) -> dict[int, str]:
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return {}
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))
