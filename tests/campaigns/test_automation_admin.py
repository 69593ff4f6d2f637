"""The automation admin: sequences with steps, manual enrollment, safe step deletion, enrollment lists."""

import pytest
from django.test import Client

from campaigns.automation_models import Enrollment, Sequence
from campaigns.sequences import enroll
from mautomation.roles import MARKETER
from tests.campaigns.automation_helpers import mailable, make_sequence, make_trigger, steps_of
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db
BASE = "/admin/campaigns/"


@pytest.fixture
def client() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_user("marketer", role=MARKETER))
    return client


def test_pages_open_for_a_marketer(client):
    sequence = make_sequence({"delay": 0}, {"delay": 3})
    enroll(sequence=sequence, lead_ids=[mailable().pk], source="admin")
    make_trigger()
    for url in ("sequence/", f"sequence/{sequence.pk}/change/", "enrollment/", "trigger/", "triggerfire/",
                f"sequence/{sequence.pk}/enroll/"):  # fmt: skip
        assert client.get(BASE + url).status_code == 200, url


def test_manual_enrollment_by_email_reports_the_outcome(client):
    sequence = make_sequence({"delay": 3})
    lead, unmailable = mailable("a@example.com"), make_lead("b@example.com")
    body = {"leads": f"A@example.com\n{unmailable.pk}\nnobody@example.com\n"}
    response = client.post(f"{BASE}sequence/{sequence.pk}/enroll/", body, follow=True)
    assert "Enrolled: 1, not mailable (recorded): 1, already enrolled: 0, unknown: 1" in response.content.decode()
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.ACTIVE


def _formset(sequence: Sequence, *, delete: bool) -> dict:
    steps = steps_of(sequence)
    data = {"name": sequence.name, "status": sequence.status, "entry": sequence.entry, "steps-TOTAL_FORMS": len(steps),
            "steps-INITIAL_FORMS": len(steps), "steps-MIN_NUM_FORMS": 0, "steps-MAX_NUM_FORMS": 1000}  # fmt: skip
    for i, step in enumerate(steps):
        values = {"id": step.pk, "sequence": sequence.pk, "order": step.order, "template": step.template_id,
                  "delay": step.delay, "unit": step.unit}  # fmt: skip
        data |= {f"steps-{i}-{name}": value for name, value in values.items()}
    if delete:
        data["steps-0-DELETE"] = "on"
    return data


def test_deleting_a_step_leads_wait_on_is_refused_with_a_message(client):
    sequence = make_sequence({"delay": 3}, {"delay": 4})
    enroll(sequence=sequence, lead_ids=[mailable().pk], source="admin")
    response = client.post(f"{BASE}sequence/{sequence.pk}/change/", _formset(sequence, delete=True))
    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in response.content.decode()
    assert len(steps_of(sequence)) == 2


def test_a_negative_delay_is_refused_in_the_form(client):
    sequence = make_sequence({"delay": 3})
    data = _formset(sequence, delete=False) | {"steps-0-delay": -1}
    response = client.post(f"{BASE}sequence/{sequence.pk}/change/", data)
    assert "cannot be negative" in response.content.decode()
    assert steps_of(sequence)[0].delay == 3


def test_the_enrollment_list_does_not_grow_in_queries(client, django_assert_max_num_queries):
    sequence = make_sequence({"delay": 3})
    enroll(sequence=sequence, lead_ids=[mailable(f"l{i}@example.com").pk for i in range(30)], source="admin")
    with django_assert_max_num_queries(12):
        assert client.get(f"{BASE}enrollment/").status_code == 200


def test_trigger_form_offers_activity_kinds_by_their_labels(client):
    html = client.get(f"{BASE}trigger/add/").content.decode()
    assert '<option value="page_view" selected>Page view</option>' in html
    assert "Form submitted" in html
