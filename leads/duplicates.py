"""Finding leads that are probably the same person under two email addresses.

Two signals, each one GROUP BY … HAVING COUNT(*) > 1 in SQL, then one query
for the leads of the groups found:
- the same phone key (phone_key is folded on save: full-width, dashes, +81);
- the same name (last + first, without spaces, lower-cased) at the same company
  key (Company.name_key, so two companies with the same name also match).

SQL cannot NFKC-fold, so full-width Latin letters in names only match when a
stored name key exists (a model change the lead engineer has been asked for).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import CharField, Count, F, Func, QuerySet, Value
from django.db.models.functions import Concat, Lower, Replace
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from leads.models import Lead

SAME_PHONE = _("same phone")
SAME_NAME_AND_COMPANY = _("same name and company")


@dataclass(frozen=True)
class DuplicateGroup:
    reason: Promise
    key: str
    leads: list[Lead]


def possible_duplicates(*, limit: int = 100) -> list[DuplicateGroup]:
    """At most `limit` groups per signal, each group's leads oldest first."""
    return by_phone(limit=limit) + by_name_and_company(limit=limit)


def by_phone(*, limit: int = 100) -> list[DuplicateGroup]:
    with_phone = Lead.objects.exclude(phone_key="")
    keys = list(_repeated(with_phone, "phone_key").values_list("phone_key", flat=True)[:limit])
    leads = _listed(Lead.objects.filter(phone_key__in=keys)).order_by("phone_key", "created_at", "pk")
    return _grouped(leads, key=lambda lead: lead.phone_key, keep=set(keys), reason=SAME_PHONE)


def by_name_and_company(*, limit: int = 100) -> list[DuplicateGroup]:
    with_company = Lead.objects.filter(company__isnull=False).exclude(company__name_key="")
    named = _with_name_and_company_keys(with_company).exclude(dup_name="")
    pairs = list(_repeated(named, "dup_name", "dup_company").values_list("dup_name", "dup_company")[:limit])
    names, companies = {name for name, _company in pairs}, {company for _name, company in pairs}
    leads = _listed(named.filter(dup_name__in=names, dup_company__in=companies))
    leads = leads.order_by("dup_company", "dup_name", "created_at", "pk")
    return _grouped(
        leads, key=lambda lead: (lead.dup_name, lead.dup_company), keep=set(pairs), reason=SAME_NAME_AND_COMPANY
    )


def _with_name_and_company_keys(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    return leads.annotate(dup_name=name_key_expression(), dup_company=F("company__name_key"))


def name_key_expression() -> Func:
    """last_name + first_name, without half- or full-width spaces, lower-cased (ASCII on SQLite)."""
    full = Concat("last_name", "first_name", output_field=CharField())
    return Lower(Replace(Replace(full, Value(" "), Value("")), Value("\u3000"), Value("")))


def _repeated(leads: QuerySet[Lead], *keys: str) -> QuerySet:
    """The key values shared by more than one lead, in key order."""
    return leads.values(*keys).annotate(count=Count("pk")).filter(count__gt=1).order_by(*keys)


def _listed(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    return leads.select_related("company", "owner")


def _grouped(
    leads: QuerySet[Lead], *, key: Callable[[Lead], object], keep: set, reason: Promise
) -> list[DuplicateGroup]:
    """Leads with the same key form a group; groups keep the query's order."""
    groups: dict[object, list[Lead]] = {}
    for lead in leads:
        if key(lead) in keep:  # the IN filters above may admit a name from one pair and a company from another
            groups.setdefault(key(lead), []).append(lead)
    return [DuplicateGroup(reason=reason, key=_label(k), leads=members) for k, members in groups.items()]


def _label(key: object) -> str:
    return " / ".join(key) if isinstance(key, tuple) else str(key)
