"""The seed's examples end to end: a real tracked page view (+5) and a document request (+20) via the API."""

import json

import pytest
from django.core import mail
from rest_framework.authtoken.models import Token

from leads.models import Activity, Lead
from mautomation.roles import MARKETER, SALES
from scoring.models import ScoringSettings
from tests.factories import make_user
from tests.scoring.helpers import rule

pytestmark = pytest.mark.django_db
VISITOR = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def test_case_study_view_and_document_request_make_a_hot_lead(client, django_capture_on_commit_callbacks):
    ScoringSettings.objects.update_or_create(pk=1, defaults={"hot_threshold": 25})
    rule("事例ページ閲覧", url_match="prefix", url_pattern="/case-studies/", points=5)
    rule("資料請求", kind=Activity.Kind.FORM_SUBMIT, points=20)
    owner = make_user("sales1", role=SALES)
    owner.email = "sales1@example.com"
    owner.save()
    view = {"visitor_id": VISITOR, "url": "https://www.example.co.jp/case-studies/maker/", "title": "導入事例"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/t/pv", json.dumps(view), content_type="text/plain;charset=UTF-8").status_code in (200, 204)
    token = Token.objects.create(user=make_user("m", role=MARKETER))
    body = {"email": "taro@example.co.jp", "kind": "form_submit", "visitor_id": VISITOR, "create_lead": True}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/events/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}"
        )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email_key="taro@example.co.jp")
    assert (lead.score, lead.stage, lead.owner) == (25, Lead.Stage.MQL, owner)
    assert sorted(lead.score_entries.values_list("reason", "points")) == [("事例ページ閲覧", 5), ("資料請求", 20)]
    assert [m.to for m in mail.outbox] == [["sales1@example.com"]]
