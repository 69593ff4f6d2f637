import pytest
from django.core import mail
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Campaign
from mautomation.roles import MARKETER, SALES
from tests.factories import make_campaign, make_lead, make_list, make_template, make_user

pytestmark = pytest.mark.django_db


def _client(role: str) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=make_user(role, role=role))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_marketer_creates_schedules_and_reads_stats():
    client = _client(MARKETER)
    template = make_template()
    lead_list = make_list(make_lead("a@example.com", consent=True))
    from tests.factories import make_sender

    make_sender()
    created = client.post(
        "/api/v1/campaigns/",
        {"name": "API", "content_type": "seminar", "template": template.pk, "lists": [lead_list.pk]},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]

    scheduled = client.post(f"/api/v1/campaigns/{pk}/schedule/", {"at": "2030-01-01T09:00:00+09:00"}, format="json")
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    stats = client.get(f"/api/v1/campaigns/{pk}/stats/").json()
    assert stats["status"] == "scheduled" and stats["sends"]["total"] == 0


def test_send_pause_resume_follow_the_state(django_capture_on_commit_callbacks):
    from tests.factories import make_sender

    make_sender()
    client = _client(MARKETER)
    campaign = make_campaign()
    campaign.lists.add(make_list(make_lead("b@example.com", consent=True)))
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/resume/").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/api/v1/campaigns/{campaign.pk}/send/")
    assert sent.status_code == 200 and len(mail.outbox) == 1
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()["sends"]["sent"] == 1
    assert client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "x"}, format="json").status_code == 400


def test_sending_a_campaign_that_is_not_ready_says_why():
    client = _client(MARKETER)
    campaign = make_campaign()
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/send/")
    assert response.status_code == 400 and response.json()["detail"]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x" * 5000, "content_type": "other"},
        {"name": "x", "content_type": "nonsense"},
        {"name": "x", "template": 999999},
        {"name": "x", "lists": ["1; DROP TABLE"]},
        ["not", "an", "object"],
    ],
)
def test_hostile_campaign_payloads_get_a_400(payload):
    response = _client(MARKETER).post("/api/v1/campaigns/", payload, format="json")
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_sales_reads_nothing_and_changes_nothing():
    client = _client(SALES)
    campaign = make_campaign()
    assert client.get("/api/v1/campaigns/").status_code == 403
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/send/").status_code == 403
    assert APIClient().get("/api/v1/campaigns/").status_code in (401, 403)


def test_unknown_and_malformed_ids_get_a_404():
    client = _client(MARKETER)
    assert client.get("/api/v1/campaigns/424242/stats/").status_code == 404
    assert client.get("/api/v1/campaigns/abc/").status_code == 404
