"""Static list membership: set-based add and remove, lookups by id or email, and CSV imports into a list."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.lists import add_to_list, remove_from_list, resolve_leads
from leads.models import ImportJob, Lead, LeadList, ListMembership
from mautomation.roles import MARKETER
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db


def test_adding_a_selection_is_one_statement_and_skips_existing_members():
    seminar = LeadList.objects.create(name="セミナー")
    user = make_user("m", role=MARKETER)
    leads = [make_lead(f"u{n}@x.jp", stage="mql" if n % 2 else "lead") for n in range(6)]
    ListMembership.objects.create(lead_list=seminar, lead=leads[1], source="api")
    with CaptureQueriesContext(connection) as queries:
        added = add_to_list(lead_list=seminar, leads=Lead.objects.filter(stage="mql"), source="admin", user_id=user.pk)
    assert added == 2 and len([q for q in queries if "INSERT" in q["sql"]]) == 1
    rows = ListMembership.objects.filter(lead_list=seminar).order_by("lead_id")
    assert [(row.lead_id, row.source, row.added_by_id) for row in rows] == [
        (leads[1].pk, "api", None),
        (leads[3].pk, "admin", user.pk),
        (leads[5].pk, "admin", user.pk),
    ]


def test_removing_returns_how_many_were_members():
    seminar = LeadList.objects.create(name="セミナー")
    a, b, c = make_lead("a@x.jp"), make_lead("b@x.jp"), make_lead("c@x.jp")
    add_to_list(lead_list=seminar, leads=Lead.objects.filter(pk__in=[a.pk, b.pk]), source="admin")
    assert remove_from_list(lead_list=seminar, leads=Lead.objects.filter(pk__in=[b.pk, c.pk])) == 1
    assert list(seminar.members.all()) == [a]


def test_resolve_leads_matches_emails_on_their_key_and_reports_what_matched_nothing():
    a, b = make_lead("Taro@Example.jp"), make_lead("b@x.jp")
    resolved = resolve_leads(ids=[b.pk, 999_999], emails=["ｔａｒｏ@example.jp ", "nobody@x.jp"])
    assert set(resolved.leads) == {a, b}
    assert resolved.missing == [999_999, "nobody@x.jp"]


def test_import_adds_every_lead_of_the_file_to_the_chosen_list(tmp_path):
    existing = make_lead("old@x.jp")
    seminar = LeadList.objects.create(name="展示会2026")
    path = tmp_path / "leads.csv"
    path.write_text("email,姓\nold@x.jp,\nnew@x.jp,新規\nnot-an-email,x\n", encoding="utf-8")
    call_command("import_leads", str(path), "--list", str(seminar.pk), stdout=StringIO())
    members = ListMembership.objects.filter(lead_list=seminar)
    assert set(members.values_list("lead__email", flat=True)) == {"old@x.jp", "new@x.jp"}
    assert set(members.values_list("source", flat=True)) == {"import"} and existing.lists.get() == seminar


def test_import_command_refuses_an_unknown_list(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("email\na@x.jp\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no such list"):
        call_command("import_leads", str(path), "--list", "999")
    assert Lead.objects.count() == 0


def test_the_upload_form_sends_the_imported_leads_to_a_list(
    client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    marketer = make_user("m", role=MARKETER)
    client.force_login(marketer)
    seminar = LeadList.objects.create(name="セミナー")
    data = {"file": SimpleUploadedFile("a.csv", b"email\r\na@x.jp\r\n"), "encoding": "auto", "consent": "none",
            "lead_list": str(seminar.pk)}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/admin/leads/import/", data).status_code == 302
    assert ImportJob.objects.get().lead_list == seminar
    assert ListMembership.objects.get(lead_list=seminar).added_by == marketer


def test_the_upload_form_refuses_a_list_that_does_not_exist(client):
    client.force_login(make_user("m", role=MARKETER))
    data = {"file": SimpleUploadedFile("a.csv", b"email\r\na@x.jp\r\n"), "encoding": "auto", "consent": "none",
            "lead_list": "999"}  # fmt: skip
    response = client.post("/admin/leads/import/", data)
    assert response.status_code == 200 and ImportJob.objects.count() == 0
