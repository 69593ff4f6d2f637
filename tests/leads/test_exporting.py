"""CSV export: Excel-friendly encodings, translated headers, formula injection, no N+1, and a round trip."""

import csv
import io
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from leads.exporting import export_as_csv, export_as_csv_cp932, stream_csv
from leads.importing import Options, create_job, run_import
from leads.models import CustomField, Lead, Tag
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db


def export(queryset=None, *, encoding: str = "utf-8", language: str = "en") -> bytes:
    with translation.override(language):
        chunks = stream_csv(queryset if queryset is not None else Lead.objects.all(), encoding=encoding)
    return b"".join(chunks)  # iterated after the language changed back, as a streaming response is


def rows(data: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_the_default_is_utf8_with_a_bom_and_english_headers_in_english():
    make_lead("taro@example.com", last_name="山田", first_name="太郎")
    data = export()
    assert data.startswith(b"\xef\xbb\xbf")
    header, row = rows(data)
    assert header[:4] == ["email", "last name", "first name", "last name furigana"]
    assert row[:3] == ["taro@example.com", "山田", "太郎"]


def test_headers_follow_the_active_language():
    assert rows(export(language="ja"))[0][:3] == ["メールアドレス", "姓", "名"]


def test_cp932_replaces_what_it_cannot_encode_and_keeps_the_wave_dash():
    make_lead("a@example.com", last_name="髙橋😀", title="9時〜17時")
    data = export(encoding="cp932")
    assert not data.startswith(b"\xef\xbb\xbf")
    row = rows(data, "cp932")[1]
    assert (row[1], row[7]) == ("髙橋?", "9時～17時")


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+81 3 1234 5678", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_as_formulas_get_a_leading_quote(dangerous):
    make_lead("a@example.com", title=dangerous)
    assert rows(export())[1][7] == "'" + dangerous


def test_html_is_exported_as_it_was_entered():
    make_lead("a@example.com", company_name="<script>alert(1)</script>")
    assert rows(export())[1][5] == "<script>alert(1)</script>"


def test_tags_custom_fields_and_owner_are_exported_without_a_query_per_lead():
    CustomField.objects.create(key="plan", label="Plan")
    owner, vip = make_user("owner"), Tag.objects.create(name="vip")

    def queries(count: int) -> int:
        for n in range(count):
            make_lead(f"u{n}-{count}@example.com", owner=owner, custom={"plan": "pro"}).tags.add(vip)
        with CaptureQueriesContext(connection) as captured:
            export()
        return len(captured)

    assert queries(3) == queries(30) == 3  # custom fields, leads with company and owner, their tags
    header, row = rows(export(Lead.objects.filter(email="u0-3@example.com")))
    exported = dict(zip(header, row, strict=True))
    assert (exported["tags"], exported["owner"], exported["Plan"]) == ("vip", "owner", "pro")


def test_an_exported_file_imports_again_as_unchanged(tmp_path):
    CustomField.objects.create(key="budget", label="予算", kind=CustomField.Kind.NUMBER)
    make_lead("a@example.com", last_name="山田", phone="+81 3 1234 5678", custom={"budget": 1200}).tags.add(
        Tag.objects.create(name="vip")
    )
    make_lead("b@example.com", title="-部長-", source="=展示会")
    for language, encoding in [("ja", "cp932"), ("en", "utf-8")]:
        file = tmp_path / f"{language}.csv"
        file.write_bytes(export(encoding=encoding, language=language))
        job = run_import(job=create_job(name=file.name), path=file, options=Options(consent=None))
        assert (job.created, job.updated, job.unchanged, job.errors) == (0, 0, 2, 0), job.message


@pytest.mark.parametrize(("language", "encoding"), [("ja", "cp932"), ("en", "utf-8")])
def test_values_starting_with_quotes_and_formula_characters_import_back_exactly(tmp_path, language, encoding):
    """The export's quote against formulas is the only one the import takes off: a value's own quotes stay."""
    values = ["'=SUM(A1)", "''x", "''=1", "'+81 3", "'", "=展示会", "-部長-", "'quoted", "'@home"]
    for n, value in enumerate(values):
        make_lead(f"q{n}@example.com", title=value, source=value)
    file = tmp_path / "leads.csv"
    file.write_bytes(export(encoding=encoding, language=language))
    Lead.objects.update(title="", source="")
    job = run_import(job=create_job(name=file.name), path=file, options=Options(consent=None))
    assert (job.updated, job.errors) == (len(values), 0), job.message
    stored = list(Lead.objects.order_by("email").values_list("title", "source"))
    assert stored == [(value, value) for value in values]


def test_the_admin_actions_answer_an_attachment_streamed_in_the_chosen_encoding(rf):
    make_lead("a@example.com", last_name="髙橋")
    request = rf.post("/admin/leads/lead/")
    response = export_as_csv(None, request, Lead.objects.all())
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbf")
    response = export_as_csv_cp932(None, request, Lead.objects.all())
    assert response["Content-Type"] == "text/csv; charset=windows-31j"
    assert "髙橋".encode("cp932") in b"".join(response.streaming_content)


def test_the_export_command_writes_every_lead(tmp_path):
    make_lead("a@example.com")
    make_lead("b@example.com")
    out = StringIO()
    call_command("export_leads", str(tmp_path / "leads.csv"), "--encoding", "cp932", "--language", "ja", stdout=out)
    assert out.getvalue().strip() == f"exported 2 leads to {tmp_path / 'leads.csv'}"
    assert [row[0] for row in rows((tmp_path / "leads.csv").read_bytes(), "cp932")] == [
        "メールアドレス", "a@example.com", "b@example.com"
    ]  # fmt: skip
