"""upsert_lead: one person's cleaned values in, one lead out, whichever path they came by."""

import pytest

from leads.models import Company, Consent, Lead, Tag
from leads.upsert import ConsentGrant, Outcome, upsert_lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db


def upsert(email: str = "taro@example.com", consent: ConsentGrant | None = None, touch: dict | None = None, **values):
    return upsert_lead(values={"email": email, **values}, consent=consent, touch=touch)


# --- Outcomes ------------------------------------------------------------------------


def test_a_new_address_creates_a_lead():
    result = upsert(last_name="山田", first_name="太郎")
    assert result.outcome == Outcome.CREATED
    assert (result.lead.display_name, Lead.objects.count()) == ("山田 太郎", 1)


def test_new_values_update_the_lead_and_say_what_changed():
    make_lead(last_name="山田", title="課長")
    result = upsert(last_name="山田", title="部長", department="営業部")
    assert result.outcome == Outcome.UPDATED
    assert sorted(result.changed) == ["department", "title"]
    assert Lead.objects.get().title == "部長"


def test_the_same_values_again_are_unchanged_and_not_saved():
    upsert(last_name="山田", custom={"plan": "pro"}, tags=["seminar"], touch={"utm_source": "news"})
    before = Lead.objects.get().updated_at
    result = upsert(last_name="山田", custom={"plan": "pro"}, tags=["seminar"], touch={"utm_source": "news"})
    assert result.outcome == Outcome.UNCHANGED and result.changed == []
    assert Lead.objects.get().updated_at == before


def test_a_new_tag_alone_is_an_update():
    upsert(tags=["seminar"])
    result = upsert(tags=["seminar", "vip"])
    assert result.outcome == Outcome.UPDATED
    assert sorted(result.lead.tags.values_list("name", flat=True)) == ["seminar", "vip"]


def test_tags_are_created_once_however_many_leads_carry_them():
    upsert("a@example.com", tags=["seminar", "vip"])
    upsert("b@example.com", tags=["seminar"])
    assert Tag.objects.count() == 2
    assert Tag.objects.get(name="seminar").leads.count() == 2


# --- Matching and merging values --------------------------------------------------


@pytest.mark.parametrize("typed", ["ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "TARO@Example.COM", "  taro@example.com  "])
def test_full_width_or_upper_case_email_matches_the_existing_lead(typed):
    lead = make_lead("taro@example.com")
    result = upsert(typed, title="部長")
    assert result.lead.pk == lead.pk and result.outcome == Outcome.UPDATED
    assert Lead.objects.count() == 1
    assert Lead.objects.get().email == "taro@example.com"  # the address is kept as first entered


def test_empty_values_never_erase_stored_ones():
    make_lead(last_name="山田", phone="03-1234-5678", custom={"plan": "pro"})
    result = upsert(last_name="", phone=None, custom={"plan": ""})
    assert result.outcome == Outcome.UNCHANGED
    lead = Lead.objects.get()
    assert (lead.last_name, lead.phone, lead.custom) == ("山田", "03-1234-5678", {"plan": "pro"})


def test_custom_values_merge_with_the_stored_ones():
    make_lead(custom={"plan": "pro", "seats": 5})
    upsert(custom={"seats": 8, "region": "関東"})
    assert Lead.objects.get().custom == {"plan": "pro", "seats": 8, "region": "関東"}


def test_first_touch_is_kept_and_last_touch_follows_the_latest_visit():
    upsert(touch={"utm_source": "google", "utm_medium": "cpc"})
    upsert(touch={"utm_source": "newsletter"})
    lead = Lead.objects.get()
    assert lead.first_touch == {"utm_source": "google", "utm_medium": "cpc"}
    assert lead.last_touch == {"utm_source": "newsletter"}


# --- Companies -----------------------------------------------------------------------


def test_leads_at_one_domain_share_a_company_whatever_name_they_typed():
    a = upsert("a@acme.co.jp", company_name="株式会社アクメ").lead
    b = upsert("b@acme.co.jp", company_name="ACME Japan").lead
    assert a.company == b.company and Company.objects.count() == 1
    assert a.company.domain == "acme.co.jp"


def test_free_mail_leads_are_grouped_by_company_name_key():
    a = upsert("a@gmail.com", company_name="株式会社サンプル").lead
    b = upsert("b@yahoo.co.jp", company_name="サンプル（株）").lead
    c = upsert("c@outlook.jp", company_name="㈱サンプル").lead
    assert a.company == b.company == c.company
    assert a.company.domain == ""


def test_the_same_name_at_different_domains_stays_two_companies():
    a = upsert("a@sample.co.jp", company_name="株式会社サンプル").lead
    b = upsert("b@sample-kogyo.jp", company_name="株式会社サンプル").lead
    c = upsert("c@gmail.com", company_name="株式会社サンプル").lead
    assert len({a.company_id, b.company_id, c.company_id}) == 3


def test_free_mail_without_a_company_name_has_no_company():
    assert upsert("a@gmail.com").lead.company is None


# --- Consent -------------------------------------------------------------------------


def test_consent_is_recorded_with_its_wording_and_makes_the_lead_mailable():
    result = upsert(consent=ConsentGrant(method=Consent.Method.FORM, wording="お知らせを受け取る", source="/lp/a"))
    assert result.lead.mailable
    consent = Consent.objects.get()
    assert (consent.method, consent.wording, consent.source) == ("form", "お知らせを受け取る", "/lp/a")


@pytest.mark.parametrize("method", [Consent.Method.IMPORT, Consent.Method.ADMIN, Consent.Method.BUSINESS_CARD])
def test_import_or_staff_consent_never_resubscribes(method):
    make_lead(consent=True, email_status=Lead.EmailStatus.UNSUBSCRIBED)
    upsert(consent=ConsentGrant(method=method))
    lead = Lead.objects.get()
    assert lead.email_status == Lead.EmailStatus.UNSUBSCRIBED and not lead.mailable


def test_an_imported_unsubscribed_lead_without_consent_stays_unmailable():
    make_lead(email_status=Lead.EmailStatus.UNSUBSCRIBED)
    upsert(consent=ConsentGrant(method=Consent.Method.IMPORT))
    assert not Lead.objects.get().mailable


@pytest.mark.parametrize("method", [Consent.Method.FORM, Consent.Method.API])
def test_a_form_or_api_consent_resubscribes_an_unsubscribed_lead(method):
    make_lead(consent=True, email_status=Lead.EmailStatus.UNSUBSCRIBED)
    result = upsert(consent=ConsentGrant(method=method, wording="受け取る"))
    assert result.outcome == Outcome.UPDATED and "consent" in result.changed
    assert Lead.objects.get().mailable


def test_no_consent_brings_back_a_bounced_address():
    make_lead(email_status=Lead.EmailStatus.BOUNCED)
    upsert(consent=ConsentGrant(method=Consent.Method.FORM))
    lead = Lead.objects.get()
    assert lead.consent and lead.email_status == Lead.EmailStatus.BOUNCED and not lead.mailable
