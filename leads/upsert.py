"""Creating or updating one lead by email: the ingest step of forms, the API and the admin.

The email key has a unique constraint, so concurrent submissions of a new
address create one lead: the loser of the race gets an IntegrityError inside
get_or_create, which then reads the winner's row. (The CSV importer has its own
set-based path in leads/importing.py that follows the same rules.)
"""

import enum
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from leads.companies import company_for
from leads.models import Consent, Lead, Tag
from mautomation.lib.normalize import email_key


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ConsentGrant:
    method: str
    wording: str = ""
    source: str = ""


@dataclass
class Upserted:
    lead: Lead
    outcome: Outcome
    changed: list[str] = field(default_factory=list)


# Methods by which a person states consent themselves: these re-subscribe an
# unsubscribed address. An import or staff entry never does.
EXPLICIT_CONSENT = {Consent.Method.FORM, Consent.Method.API}


@transaction.atomic
def upsert_lead(*, values: dict, consent: ConsentGrant | None = None, touch: dict | None = None) -> Upserted:
    """Create or update the lead with values["email"]; non-empty values overwrite, empty ones never erase."""
    values = dict(values)
    custom, tags = values.pop("custom", {}), values.pop("tags", [])
    given = {name: value for name, value in values.items() if value not in ("", None)}
    lead, created = Lead.objects.select_for_update().get_or_create(email_key=email_key(values["email"]), defaults=given)
    changed = [] if created else _apply(lead, given, custom)
    if created:
        _fill_new(lead, custom=custom, touch=touch)
    elif touch and lead.last_touch != touch:
        lead.last_touch = touch
        changed.append("last_touch")
    if (created or "company_name" in changed) and lead.company_id is None:
        lead.company = company_for(email=lead.email, company_name=lead.company_name)
        changed.append("company")
    if consent and _grant(lead, consent):
        changed.append("consent")
    if tags and not set(tags) <= set(lead.tags.values_list("name", flat=True)):
        lead.tags.add(*_tags(tags))
        changed.append("tags")
    if created or changed:
        lead.save()
    outcome = Outcome.CREATED if created else Outcome.UPDATED if changed else Outcome.UNCHANGED
    return Upserted(lead=lead, outcome=outcome, changed=changed)


def _apply(lead: Lead, given: dict, custom: dict) -> list[str]:
    changed = [name for name, value in given.items() if name != "email" and getattr(lead, name) != value]
    for name in changed:
        setattr(lead, name, given[name])
    new_custom = {key: value for key, value in custom.items() if value != "" and lead.custom.get(key) != value}
    if new_custom:
        lead.custom = {**lead.custom, **new_custom}
        changed.append("custom")
    return changed


def _fill_new(lead: Lead, *, custom: dict, touch: dict | None) -> None:
    lead.custom = {key: value for key, value in custom.items() if value != ""}
    if touch:
        lead.first_touch = lead.last_touch = touch


def _grant(lead: Lead, grant: ConsentGrant) -> bool:
    """Record the consent; True when the lead's mailable state changed."""
    Consent.objects.create(
        lead=lead, method=grant.method, wording=grant.wording, source=grant.source, granted_at=timezone.now()
    )
    resubscribe = grant.method in EXPLICIT_CONSENT and lead.email_status == Lead.EmailStatus.UNSUBSCRIBED
    if lead.consent and not resubscribe:
        return False
    lead.consent = True
    if resubscribe:
        lead.email_status = Lead.EmailStatus.OK
    return True


def _tags(names: list[str]) -> list[Tag]:
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=names))
