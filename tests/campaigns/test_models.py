import pytest
from django.db import IntegrityError, transaction

from campaigns.models import Send, SenderIdentity
from tests.factories import make_campaign, make_lead, make_template

pytestmark = pytest.mark.django_db


def test_a_lead_has_one_send_per_source():
    lead = make_lead()
    campaign = make_campaign()
    Send.objects.create(source=campaign.source, campaign=campaign, lead=lead, email=lead.email)
    with pytest.raises(IntegrityError), transaction.atomic():
        Send.objects.create(source=campaign.source, campaign=campaign, lead=lead, email=lead.email)
    assert Send.objects.count() == 1


def test_one_send_per_address_and_source_whatever_the_case():
    first, second = make_lead("a@example.com"), make_lead("b@example.com")
    Send.objects.create(source="step:1", lead=first, email="Same@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Send.objects.create(source="step:1", lead=second, email="same@example.com")


def test_saving_a_template_inlines_its_css_once_and_keeps_merge_tags():
    template = make_template(html="<style>p { color: red }</style><p>{{ lead.first_name }}</p>")
    assert 'style="color: red;"' in template.html_inlined
    assert "{{ lead.first_name }}" in template.html_inlined
    assert "<style>" not in template.html_inlined


def test_sender_identity_is_one_row_and_incomplete_until_filled():
    assert not SenderIdentity.load().complete
    SenderIdentity(name="株式会社A", postal_address="東京都", contact_phone="03-0000-0000").save()
    SenderIdentity(name="株式会社B", postal_address="大阪府", contact_email="b@example.com").save()
    assert SenderIdentity.objects.count() == 1
    assert SenderIdentity.load().name == "株式会社B" and SenderIdentity.load().complete
