"""/api/v1/sequences/: read with steps, enroll and unenroll by id or email; wrong, hostile and huge input."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.automation_models import Enrollment, Sequence
from mautomation.roles import MARKETER, SALES
from tests.campaigns.automation_helpers import mailable, make_sequence
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/sequences/"


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def marketer() -> APIClient:
    return client_for(make_user("marketer", role=MARKETER))


def post(client: APIClient, url: str, body) -> object:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_sequences_are_listed_with_their_steps_in_order_without_n_plus_one(marketer, django_assert_max_num_queries):
    for n in range(3):
        make_sequence({"delay": 0}, {"delay": 3}, name=f"seq{n}")
    with django_assert_max_num_queries(7):
        response = marketer.get(URL)
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert [s["delay"] for s in first["steps"]] == [0, 3]
    assert first["active_count"] == 0


def test_enroll_by_id_and_email_reports_each_outcome(marketer):
    sequence = make_sequence({"delay": 3})
    ok, unmailable, already = mailable("a@example.com"), make_lead("b@example.com"), mailable("c@example.com")
    post(marketer, f"{URL}{sequence.pk}/enroll/", {"ids": [already.pk]})
    body = {"ids": [ok.pk, 999999, already.pk], "emails": ["B@Example.com", "nobody@example.com"]}
    response = post(marketer, f"{URL}{sequence.pk}/enroll/", body)
    assert response.status_code == 200
    assert response.json() == {"enrolled": 1, "skipped": 1, "already": 1, "missing": [999999, "nobody@example.com"]}
    assert Enrollment.objects.get(lead=unmailable).status == Enrollment.Status.SKIPPED


def test_unenroll_ends_the_active_enrollment(marketer):
    sequence = make_sequence({"delay": 3})
    lead = mailable()
    post(marketer, f"{URL}{sequence.pk}/enroll/", {"emails": [lead.email]})
    response = post(marketer, f"{URL}{sequence.pk}/unenroll/", {"ids": [lead.pk]})
    assert response.json() == {"removed": 1, "missing": []}
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.EXITED


def test_enrolling_into_a_sequence_without_steps_is_a_400_with_the_reason(marketer):
    sequence = Sequence.objects.create(name="empty")
    response = post(marketer, f"{URL}{sequence.pk}/enroll/", {"ids": [mailable().pk]})
    assert response.status_code == 400
    assert "no steps" in response.json()["detail"][0]


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": ["12"]}, {"ids": [True]}, {"ids": [-1]}, {"ids": [2**70]}, {"emails": [1]},
     {"emails": ["x" * 300]}, {"ids": [1], "extra": 1}, [], "ids", None, {"ids": list(range(1, 10_002))}],
)  # fmt: skip
def test_wrong_bodies_are_400_never_500(marketer, body):
    sequence = make_sequence()
    response = post(marketer, f"{URL}{sequence.pk}/enroll/", body)
    assert response.status_code == 400
    assert not Enrollment.objects.exists()


def test_a_body_over_a_megabyte_is_413(marketer):
    sequence = make_sequence()
    response = post(marketer, f"{URL}{sequence.pk}/enroll/", {"emails": ["a" * 200 + "@example.com"] * 6000})
    assert response.status_code == 413


def test_unknown_sequence_is_404_and_sales_may_read_but_not_enroll(marketer):
    sequence = make_sequence()
    assert post(marketer, f"{URL}999999/enroll/", {"ids": [1]}).status_code == 404
    sales = client_for(make_user("sales", role=SALES))
    assert sales.get(URL).status_code == 403
    assert post(sales, f"{URL}{sequence.pk}/enroll/", {"ids": [mailable().pk]}).status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)
