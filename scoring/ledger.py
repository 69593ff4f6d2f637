"""Turning events into ledger rows, and the ledger into the lead's cached score."""

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from leads.models import Activity, Lead
from scoring.fit import fit_score
from scoring.models import FitRule, ScoreEntry, ScoringRule, ScoringSettings
from scoring.rules import is_machine, rule_matches, window


def score_activity(activity: Activity) -> None:
    """Stream consumer: ledger rows for the rules this event triggers, then the threshold check.

    Runs inside the stream's exactly-once claim; the (lead, rule, window) unique
    constraint also makes a second run of the same event add nothing.
    """
    from scoring.hot import check_hot

    config = ScoringSettings.load()
    entries = [_entry(rule, activity) for rule in _matching_rules(activity, config)]
    if entries:
        # Two events of one lead scored at once (two workers) would each sum a ledger without the other's new
        # row, and the later UPDATE would drop points: the lead's row lock makes them take turns.
        list(Lead.objects.select_for_update().filter(pk=activity.lead_id).values_list("pk", flat=True))
        ScoreEntry.objects.bulk_create(entries, ignore_conflicts=True)
        refresh_scores([activity.lead_id])
    refresh_fit(activity.lead)
    check_hot(activity.lead_id, config=config)


def _matching_rules(activity: Activity, config: ScoringSettings) -> list[ScoringRule]:
    if is_machine(activity.data):
        return []
    if config.exclude_opens and activity.kind == Activity.Kind.EMAIL_OPENED:
        return []
    rules = ScoringRule.objects.filter(active=True, event_kind=activity.kind)
    return [rule for rule in rules if rule_matches(rule, activity)]


def _entry(rule: ScoringRule, activity: Activity) -> ScoreEntry:
    return ScoreEntry(
        lead_id=activity.lead_id,
        rule=rule,
        activity=activity,
        window=window(rule, activity),
        points=rule.points,
        reason=rule.name[:300],
        created_at=activity.occurred_at,
    )


def ledger_total():
    """The ledger sum of the outer lead, as a subquery expression."""
    rows = ScoreEntry.objects.filter(lead=OuterRef("pk")).order_by().values("lead").annotate(total=Sum("points"))
    return Coalesce(Subquery(rows.values("total")[:1]), 0)


def refresh_scores(lead_ids: list[int] | None = None) -> int:
    """Rebuild the cached score of these leads (all when None) from their ledgers, in one UPDATE."""
    leads = Lead.objects.all() if lead_ids is None else Lead.objects.filter(pk__in=lead_ids)
    return leads.update(score=ledger_total())


def rescore_lead(lead: Lead) -> None:
    """After a merge moved ledger rows onto this lead: its cached scores follow the ledger."""
    refresh_scores([lead.pk])
    lead.refresh_from_db(fields=["score"])
    refresh_fit(lead)


def refresh_fit(lead: Lead, rules: list[FitRule] | None = None) -> int:
    rules = list(FitRule.objects.filter(active=True)) if rules is None else rules
    score = fit_score(rules, lead)
    if score != lead.fit_score:
        Lead.objects.filter(pk=lead.pk).update(fit_score=score)
        lead.fit_score = score
    return score
