"""An unsubscribe, from any source, stops mail and revokes consent; stronger states are kept."""

import pytest

from leads import stream
from leads.consents import unsubscribe
from leads.models import Activity, Consent, Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_unsubscribed_event_makes_the_lead_unmailable_and_revokes_consent():
    lead = make_lead(consent=True)
    Consent.objects.create(lead=lead, method=Consent.Method.FORM, wording="同意します")
    activity = stream.record(kind=Activity.Kind.UNSUBSCRIBED, lead=lead, data={"reason": "api"})
    stream.process(activity.pk)
    lead.refresh_from_db()
    assert (lead.email_status, lead.consent, lead.mailable) == (Lead.EmailStatus.UNSUBSCRIBED, False, False)
    assert Consent.objects.get().revoked_reason == "api"


def test_a_bounced_lead_stays_bounced_when_it_unsubscribes():
    lead = make_lead(email_status=Lead.EmailStatus.BOUNCED, consent=True)
    assert unsubscribe(lead, reason="link") is True
    lead.refresh_from_db()
    assert (lead.email_status, lead.consent) == (Lead.EmailStatus.BOUNCED, False)


def test_unsubscribing_twice_changes_nothing_the_second_time():
    lead = make_lead(consent=True)
    assert unsubscribe(lead, reason="link") is True
    assert unsubscribe(lead, reason="link") is False
