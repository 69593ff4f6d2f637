"""The import's companies: each new lead's company found or created, a batch at a time.

Part of the import (leads/importing.py), by the rules of leads/companies.py (same
domain, same company; without one, the name key). A run keeps the ids it has seen:
a file names the same companies again and again, so after its first batches most
leads need no query at all.
"""

from collections.abc import Iterable

from django.db.models import Q

from leads.import_sql import among
from leads.models import Company
from mautomation.lib.normalize import company_key


class KnownCompanies:
    """Company ids by company_lookup, kept for one run: a file names the same companies again and again."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}

    def resolve(self, wanted: dict[str, tuple]) -> dict[str, int | None]:
        """email key -> company id, for email key -> company_lookup(...); unknown ones are found or created."""
        unknown: dict[tuple[str, str], str] = {}
        for lookup, display in wanted.values():  # named after its first lead, as company_for would
            if lookup and lookup not in self.ids:
                unknown.setdefault(lookup, display)
        if unknown:
            self.ids |= _find_or_create_companies(unknown)
        ids = self.ids
        return {key: ids.get(lookup) for key, (lookup, _display) in wanted.items()}

    def forget(self) -> None:
        """After a failed batch: a company may have been deleted or merged meanwhile."""
        self.ids.clear()


def _find_or_create_companies(wanted: dict[tuple[str, str], str]) -> dict[tuple[str, str], int]:
    """lookup -> company id by leads/companies.py's rules, creating missing ones (named `wanted[lookup]`)."""
    found = _find_companies(wanted)
    missing = {lookup: name for lookup, name in wanted.items() if lookup not in found}
    if missing:  # ignore_conflicts: one created concurrently is found by the second query
        companies = [
            Company(name=name, name_key=company_key(name), domain=domain) for (domain, _k), name in missing.items()
        ]
        Company.objects.bulk_create(companies, ignore_conflicts=True)
        found = _find_companies(wanted)
    return found


def _find_companies(lookups: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    domains = [domain for domain, _key in lookups if domain]
    keys = [key for domain, key in lookups if not domain]
    query = Company.objects.filter(
        among(Company, "domain", domains) | (Q(domain="") & among(Company, "name_key", keys))
    )
    # Oldest last, so it wins, as Company.objects.filter(...).order_by("pk").first() does.
    found = query.order_by("-pk").values_list("pk", "domain", "name_key")
    return {((domain, "") if domain else ("", key)): pk for pk, domain, key in found}
