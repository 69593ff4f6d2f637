import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign, EmailTemplate
from mautomation.roles import MARKETER, SALES
from tests.factories import make_campaign, make_lead, make_list, make_template, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer() -> Client:
    client = Client()
    user = make_user("marketer", role=MARKETER)
    user.email = "marketer@example.com"
    user.save()
    client.force_login(user)
    return client


def _template_form(**fields) -> dict:
    return {"name": "T", "subject": "件名", "preheader": "", "html": "<p>x</p>", "text": "本文", **fields}


def test_saving_a_template_with_a_syntax_error_shows_the_line_and_saves_nothing(marketer):
    response = marketer.post(
        reverse("admin:campaigns_emailtemplate_add"), _template_form(html="<p>a</p>\n<p>{{ lead.first_name </p>")
    )
    assert response.status_code == 200
    assert "2" in str(response.context["adminform"].form.errors["html"])
    assert not EmailTemplate.objects.exists()


def test_preview_shows_the_footer_personalised_for_a_lead(marketer, sender):
    template = make_template()
    lead = make_lead("prev@example.com", last_name="山田", first_name="花子")
    response = marketer.get(reverse("admin:campaigns_emailtemplate_preview", args=[template.pk]), {"lead": lead.pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert "山田 花子 様" in body and "株式会社テスト" in body


def test_test_send_goes_to_the_marketer_only(marketer, sender):
    template = make_template()
    response = marketer.post(reverse("admin:campaigns_emailtemplate_test_send", args=[template.pk]))
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["marketer@example.com"]]
    assert mail.outbox[0].subject.startswith("[TEST]")


def test_sales_cannot_preview_or_send_campaigns(sender):
    client = Client()
    client.force_login(make_user("sales", role=SALES))
    template, campaign = make_template(), make_campaign()
    assert client.get(reverse("admin:campaigns_emailtemplate_preview", args=[template.pk])).status_code == 403
    url = reverse("admin:campaigns_campaign_action", args=[campaign.pk, "send"])
    assert client.post(url).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_send_button_starts_the_campaign_and_get_is_refused(marketer, sender, django_capture_on_commit_callbacks):
    campaign = make_campaign()
    campaign.lists.add(make_list(make_lead("a@example.com", consent=True)))
    url = reverse("admin:campaigns_campaign_action", args=[campaign.pk, "send"])
    assert marketer.get(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert marketer.post(url).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert len(mail.outbox) == 1


def test_campaign_list_shows_progress_in_a_constant_number_of_queries(marketer, django_assert_max_num_queries):
    for n in range(5):
        make_campaign(name=f"c{n}")
    Campaign.objects.update(recipients=200, sent_count=50)
    with django_assert_max_num_queries(12):
        response = marketer.get(reverse("admin:campaigns_campaign_changelist"))
    assert response.content.decode().count('<progress max="200" value="50"') == 5


def test_campaign_change_page_offers_the_buttons_of_its_state(marketer):
    campaign = make_campaign()
    page = marketer.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "/do/send/" in page and "/do/pause/" not in page
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    page = marketer.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "/do/pause/" in page and "/do/send/" not in page
