"""CSV import: encodings, headers, hostile rows, upsert rules, batches, resume, the command and the admin pages."""

import csv
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from leads import importing, tasks
from leads.importing import Options, create_job, run_import
from leads.models import ColumnMapping, Company, Consent, CustomField, ImportJob, ImportRowError, Lead, Tag
from mautomation.lib import enqueue
from tests.factories import make_lead, make_user

pytestmark = pytest.mark.django_db


HEADER = ["メールアドレス", "姓", "名", "会社名", "電話番号"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def write(tmp_path: Path, rows: list[list[str]], *, encoding: str = "utf-8", name: str = "leads.csv") -> Path:
    text = StringIO()
    csv.writer(text).writerows(rows)
    target = tmp_path / name
    target.write_bytes(text.getvalue().encode(encoding))
    return target


def run(file: Path, *, batch_size: int = importing.BATCH_SIZE, **options) -> ImportJob:
    job = create_job(name=file.name)
    return run_import(job=job, path=file, options=Options(file_name=file.name, **options), batch_size=batch_size)


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return job.created, job.updated, job.unchanged, job.errors


def errors(job: ImportJob) -> list[tuple[int, str]]:
    return list(job.row_errors.order_by("row", "field").values_list("row", "field"))


def person(n: int, **changes) -> list[str]:
    row = {
        "email": f"user{n}@example.com",
        "last": "山田",
        "first": f"太郎{n}",
        "company": "株式会社サンプル",
        "phone": "",
    }
    return list({**row, **changes}.values())


# --- Encodings and whole-file problems ---------------------------------------------


def test_a_cp932_file_with_japanese_headers_is_detected_and_imported(tmp_path):
    job = run(
        write(
            tmp_path,
            [HEADER, ["taro@example.com", "髙橋", "太郎", "株式会社サンプル", "０３－１２３４－５６７８"]],
            encoding="cp932",
        )
    )
    assert (job.status, job.encoding, counts(job)) == (ImportJob.Status.DONE, "cp932", (1, 0, 0, 0))
    lead = Lead.objects.get()
    assert (lead.last_name, lead.company_name, lead.phone_key) == ("髙橋", "株式会社サンプル", "0312345678")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_or_without_bom_is_detected_and_the_bom_is_not_part_of_the_first_header(tmp_path, bom):
    file = tmp_path / "leads.csv"
    file.write_bytes(bom + "メールアドレス,氏名\r\ntaro@example.com,山田 太郎\r\n".encode())
    job = run(file)
    assert (job.encoding, counts(job)) == ("utf-8", (1, 0, 0, 0))
    assert Lead.objects.get().display_name == "山田 太郎"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "photo.csv is not a CSV text file"),
        ("email,name\r\ntaro@example.com,Taro\r\n".encode("utf-16"), "photo.csv is not a CSV text file"),
        (b"email,name\r\ncafe@example.com,caf\xe9, cr\xe8me\r\n", "photo.csv is neither UTF-8 nor Shift_JIS"),
        (b"", "photo.csv is empty"),
    ],
    ids=["png", "utf-16", "latin-1", "empty"],
)
def test_a_file_that_is_not_utf8_or_cp932_text_fails_the_job_with_a_reason_naming_it(tmp_path, content, expected):
    file = tmp_path / "photo.csv"
    file.write_bytes(content)
    job = run(file)
    assert job.status == ImportJob.Status.FAILED
    assert job.message.startswith(expected)
    assert Lead.objects.count() == 0


def test_undecodable_bytes_after_the_sample_fail_the_job_naming_the_line_and_keep_earlier_batches(tmp_path):
    rows = [",".join(person(n)) for n in range(2_000)]
    file = tmp_path / "leads.csv"
    file.write_bytes(
        ("\r\n".join([",".join(HEADER), *rows]) + "\r\n").encode() + b"late@example.com,\xff\xfe,x,y,z\r\n"
    )
    job = run(file, batch_size=500)
    assert job.status == ImportJob.Status.FAILED
    assert "leads.csv is not utf-8 text near line" in job.message
    assert Lead.objects.count() >= 1_000


def test_a_header_only_file_imports_nothing_and_is_done(tmp_path):
    job = run(write(tmp_path, [HEADER]))
    assert (job.status, counts(job), job.rows_total) == (ImportJob.Status.DONE, (0, 0, 0, 0), 0)


def test_duplicate_headers_fail_the_job_naming_them(tmp_path):
    job = run(write(tmp_path, [["email", "姓", "Ｅｍａｉｌ"], ["a@example.com", "山田", "b@example.com"]]))
    assert job.status == ImportJob.Status.FAILED
    assert job.message == "Duplicate columns: email, Ｅｍａｉｌ."


def test_two_headers_filling_the_same_field_fail_the_job(tmp_path):
    job = run(write(tmp_path, [["email", "氏名", "姓"], ["a@example.com", "山田 太郎", "山田"]]))
    assert (job.status, job.message) == (ImportJob.Status.FAILED, "The columns 氏名 and 姓 fill the same field.")


def test_a_file_without_an_email_column_fails_the_job(tmp_path):
    job = run(write(tmp_path, [["姓", "名"], ["山田", "太郎"]]))
    assert (job.status, job.message) == (ImportJob.Status.FAILED, "No email column among: 姓, 名.")


# --- Headers -------------------------------------------------------------------------


def test_english_headers_match_whatever_their_case_width_spaces_or_dashes(tmp_path):
    header = ["E-Mail", "ＬＡＳＴ　ＮＡＭＥ", "first_name", "Company Name", "Job Title", "TEL", "Tags"]
    job = run(
        write(
            tmp_path,
            [header, ["taro@example.com", "Yamada", "Taro", "Sample Inc.", "CTO", "03-1111-2222", "vip, seminar"]],
        )
    )
    lead = Lead.objects.get()
    assert counts(job) == (1, 0, 0, 0)
    assert (lead.last_name, lead.first_name, lead.company_name, lead.title, lead.phone) == (
        "Yamada", "Taro", "Sample Inc.", "CTO", "03-1111-2222",
    )  # fmt: skip
    assert sorted(lead.tags.values_list("name", flat=True)) == ["seminar", "vip"]


def test_a_full_name_column_is_split_on_its_first_half_or_full_width_space(tmp_path):
    rows = [
        ["メール", "氏名", "ふりがな"],
        ["a@example.com", "山田　太郎", "やまだ たろう"],
        ["b@example.com", "Madonna", ""],
    ]
    run(write(tmp_path, rows))
    a, b = Lead.objects.order_by("email")
    assert (a.last_name, a.first_name, a.last_name_kana, a.first_name_kana) == ("山田", "太郎", "やまだ", "たろう")
    assert (b.last_name, b.first_name) == ("Madonna", "")


def test_a_header_naming_a_custom_field_by_key_or_label_fills_it(tmp_path):
    CustomField.objects.create(key="budget", label="予算", kind=CustomField.Kind.NUMBER)
    CustomField.objects.create(key="plan", label="Plan")
    run(write(tmp_path, [["email", "予算", "plan"], ["a@example.com", "1,200", "pro"]]))
    assert Lead.objects.get().custom == {"budget": 1200, "plan": "pro"}


def test_column_mappings_from_the_admin_override_the_built_in_headers(tmp_path):
    ColumnMapping.objects.create(header="会社名", field="department")
    ColumnMapping.objects.create(header="Ｅメール", field="email")
    ColumnMapping.objects.create(header="メモ", field="ignore")
    job = run(write(tmp_path, [["Eメール", "会社名", "メモ"], ["a@example.com", "営業部", "x"]]))
    assert (Lead.objects.get().department, job.message) == ("営業部", "")


def test_unknown_headers_are_reported_once_and_ignored(tmp_path):
    rows = [["email", "謎の列", "Fax"], *[[f"u{n}@example.com", "x", "y"] for n in range(5)]]
    job = run(write(tmp_path, rows), batch_size=2)
    assert (counts(job), job.message) == ((5, 0, 0, 0), "Ignored columns: 謎の列, Fax")


# --- Hostile and broken rows ----------------------------------------------------------


def test_bad_emails_are_reported_with_row_and_column_while_good_rows_import(tmp_path):
    overlong = "a" * 250 + "@example.com"
    rows = [
        HEADER,
        person(1),
        person(2, email="not-an-email"),
        person(3, email=overlong),
        person(4, email=""),
        person(5),
    ]
    job = run(write(tmp_path, rows))
    assert counts(job) == (2, 0, 0, 3)
    assert errors(job) == [(3, "メールアドレス"), (4, "メールアドレス"), (5, "メールアドレス")]
    reasons = list(job.row_errors.order_by("row").values_list("reason", flat=True))
    assert reasons == ["is not a valid email address", "is too long (262 characters, at most 254)", "is required"]


def test_error_rows_are_file_lines_counting_the_header_as_row_one_and_multi_line_cells(tmp_path):
    rows = [HEADER, person(1, last="山田\n(旧姓 佐藤)"), person(2, email="bad")]
    job = run(write(tmp_path, rows))
    assert errors(job) == [(4, "メールアドレス")]


def test_empty_rows_are_skipped_and_counted_nowhere(tmp_path):
    file = tmp_path / "leads.csv"
    file.write_text(",".join(HEADER) + "\r\n\r\n,,,,\r\n" + ",".join(person(1)) + "\r\n \r\n")
    job = run(file)
    assert (counts(job), job.rows_done) == ((1, 0, 0, 0), 4)


def test_rows_with_a_wrong_column_count_are_errors_for_that_row(tmp_path):
    job = run(write(tmp_path, [HEADER, person(1), ["short@example.com", "山田"], [*person(3), "extra"], person(4)]))
    assert counts(job) == (2, 0, 0, 2)
    assert errors(job) == [(3, ""), (4, "")]
    assert job.row_errors.first().reason == "has 2 columns, the header has 5"


def test_a_batch_of_only_bad_rows_records_its_errors_and_the_next_batch_goes_on(tmp_path):
    job = run(write(tmp_path, [HEADER, person(1, email="bad"), ["x"], person(3)]), batch_size=2)
    assert (counts(job), errors(job)) == ((1, 0, 0, 2), [(2, "メールアドレス"), (3, "")])


def test_a_line_of_megabytes_is_an_error_and_the_rows_after_it_still_import(tmp_path):
    file = tmp_path / "leads.csv"
    file.write_text(f"email,氏名\r\nhuge@example.com,{'x' * 3_000_000}\r\nb@example.com,山田 花子\r\n")
    job = run(file)
    assert (job.status, job.created, Lead.objects.get().email) == (ImportJob.Status.DONE, 1, "b@example.com")
    assert job.errors >= 1 and job.row_errors.first().row == 2


def test_thousand_character_names_are_refused_per_row(tmp_path):
    job = run(
        write(
            tmp_path,
            [["email", "氏名"], ["a@example.com", "山" * 1000 + " " + "太" * 1000], ["b@example.com", "山田 花子"]],
        )
    )
    assert counts(job) == (1, 0, 0, 1)
    assert errors(job) == [(2, "氏名")]  # both halves are too long: one error for the one cell


def test_html_and_script_in_every_text_field_are_stored_verbatim(tmp_path):
    script = "<script>alert('x')</script>"
    header = ["email", "姓", "名", "せい", "めい", "会社名", "部署", "役職", "獲得経路", "タグ"]
    run(write(tmp_path, [header, ["x@example.com", *[script] * 8, "<b>vip</b>"]]))
    lead = Lead.objects.get()
    assert {getattr(lead, name) for name in ("last_name", "first_name", "company_name", "title", "source")} == {script}
    assert list(lead.tags.values_list("name", flat=True)) == ["<b>vip</b>"]


def test_the_characters_the_copy_format_escapes_are_stored_exactly(tmp_path):
    """Backslashes, tabs, line breaks and a literal \\N reach the database as typed, in text and custom fields."""
    CustomField.objects.create(key="memo", label="メモ", kind=CustomField.Kind.TEXT)
    hostile = ["a\\b", "tab\there", "line\nbreak", "\\N", "cr\r\nlf", 'C:\\path\\"quoted"', "末尾\\"]
    header = ["email", "会社名", "部署", "memo"]
    rows = [[f"user{n}@example.com", value, f"{value}\t{n}", value] for n, value in enumerate(hostile)]
    rows.append(["plain@example.com", "株式会社サンプル", "営業部", "ok"])  # a clean row in the same batch
    job = run(write(tmp_path, [header, *rows]))
    assert counts(job) == (len(rows), 0, 0, 0)
    stored = {lead.email: (lead.company_name, lead.department, lead.custom["memo"]) for lead in Lead.objects.all()}
    for n, value in enumerate(hostile):
        assert stored[f"user{n}@example.com"] == (value, f"{value}\t{n}", value)
    assert stored["plain@example.com"] == ("株式会社サンプル", "営業部", "ok")


@pytest.mark.parametrize("number", ["1.0e999", "-1.5e400", "たくさん"])
def test_a_number_that_is_not_finite_is_a_row_error_not_a_failed_import(tmp_path, number):
    CustomField.objects.create(key="budget", label="予算", kind=CustomField.Kind.NUMBER)
    job = run(write(tmp_path, [["email", "予算"], ["a@example.com", number], ["b@example.com", "1.5"]]))
    assert (job.status, counts(job), errors(job)) == (ImportJob.Status.DONE, (1, 0, 0, 1), [(2, "予算")])
    assert Lead.objects.get().custom == {"budget": 1.5}


def test_the_quote_our_export_puts_before_formula_like_cells_is_removed(tmp_path):
    run(write(tmp_path, [["email", "電話番号", "役職"], ["a@example.com", "'+81 3 1234 5678", "'it's me"]]))
    lead = Lead.objects.get()
    assert (lead.phone, lead.phone_key, lead.title) == ("+81 3 1234 5678", "0312345678", "'it's me")


# --- The upsert rules -------------------------------------------------------------------


def test_a_full_width_duplicate_of_an_existing_lead_is_unchanged(tmp_path):
    make_lead("taro@example.com", last_name="山田", first_name="太郎")
    job = run(write(tmp_path, [["メールアドレス", "姓", "名"], ["ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "山田", "太郎"]]))
    assert counts(job) == (0, 0, 1, 0)
    assert Lead.objects.get().email == "taro@example.com"


def test_a_new_lead_with_a_full_width_address_keeps_it_as_entered_and_is_matched_half_width(tmp_path):
    rows = [["メールアドレス", "姓"], ["ｓｕｚｕｋｉ＠ｂｅｔａ．ｅｘａｍｐｌｅ．ｊｐ", "鈴木"]]
    job = run(write(tmp_path, rows, encoding="cp932"))
    assert counts(job) == (1, 0, 0, 0)
    lead = Lead.objects.get()
    assert (lead.email, lead.email_key) == ("ｓｕｚｕｋｉ＠ｂｅｔａ．ｅｘａｍｐｌｅ．ｊｐ", "suzuki@beta.example.jp")


def test_non_empty_values_update_an_existing_lead_and_empty_ones_never_erase(tmp_path):
    make_lead("taro@example.com", last_name="山田", title="課長", phone="03-1111-2222")
    job = run(write(tmp_path, [["email", "姓", "役職", "電話番号"], ["Taro@Example.com", "", "部長", ""]]))
    lead = Lead.objects.get()
    assert counts(job) == (0, 1, 0, 0)
    assert (lead.last_name, lead.title, lead.phone) == ("山田", "部長", "03-1111-2222")


def test_rows_sharing_an_email_merge_with_later_non_empty_values_winning(tmp_path):
    rows = [HEADER, person(1, phone="03-1111-2222"), person(1, email="ＵＳＥＲ１＠example.com", last="佐藤", phone="")]
    job = run(write(tmp_path, rows))
    lead = Lead.objects.get()
    assert counts(job) == (1, 1, 0, 0)
    assert (lead.email, lead.last_name, lead.phone) == ("user1@example.com", "佐藤", "03-1111-2222")


def test_importing_the_same_file_again_reports_every_row_unchanged(tmp_path):
    CustomField.objects.create(key="plan", label="Plan")
    p = {n: [*person(n), "pro", "vip,展示会"] for n in range(6)}
    conflicting = [*person(2, last="佐藤"), "", "new"]  # merged with row 4 of its batch: the later value wins
    full_width = [*person(0, email="ＵＳＥＲ０＠ＥＸＡＭＰＬＥ．ＣＯＭ"), "pro", "vip,展示会"]
    rows = [[*HEADER, "plan", "タグ"], p[0], p[1], p[2], conflicting, p[3], p[4], full_width, ["bad", *"xxxxxx"], p[5]]
    file = write(tmp_path, rows, encoding="cp932")
    assert counts(run(file, batch_size=4)) == (6, 1, 1, 1)
    assert counts(run(file, batch_size=4)) == (0, 0, 8, 1)
    assert (Lead.objects.count(), Tag.objects.count(), Lead.objects.get(email="user2@example.com").last_name) == (
        6,
        3,
        "佐藤",
    )


def test_a_conflicting_duplicate_in_a_later_batch_updates_the_lead_again_so_the_last_row_wins(tmp_path):
    # Batches are written in file order and never look ahead (memory stays flat), so a re-import
    # writes the earlier row's value and then the later one's: the same end state, counted as updates.
    file = write(tmp_path, [HEADER, person(1, last="山田"), person(2), person(1, last="佐藤")])
    assert counts(run(file, batch_size=2)) == (2, 1, 0, 0)
    assert counts(run(file, batch_size=2)) == (0, 2, 1, 0)
    assert Lead.objects.get(email="user1@example.com").last_name == "佐藤"


def test_rows_of_one_email_in_different_batches_give_the_same_leads_as_one_batch(tmp_path):
    rows = [HEADER, person(1), person(2), person(1, last="佐藤"), person(3), person(2, phone="03-1111-2222")]
    file = write(tmp_path, rows)
    assert counts(run(file, batch_size=2)) == (3, 2, 0, 0)
    one_batch = list(Lead.objects.order_by("email").values_list("email", "last_name", "phone"))
    Lead.objects.all().delete()
    assert counts(run(file)) == (3, 2, 0, 0)
    assert list(Lead.objects.order_by("email").values_list("email", "last_name", "phone")) == one_batch


def test_new_leads_get_the_import_consent_with_the_file_name_as_its_source(tmp_path):
    make_lead("user1@example.com")
    run(write(tmp_path, [HEADER, person(1), person(2)], name="展示会2024.csv"), consent=Consent.Method.BUSINESS_CARD)
    consent = Consent.objects.get()
    assert (consent.lead.email, consent.method, consent.source) == (
        "user2@example.com",
        "business_card",
        "展示会2024.csv",
    )
    assert Lead.objects.get(email="user2@example.com").consent is True


def test_consent_none_records_no_consent(tmp_path):
    run(write(tmp_path, [HEADER, person(1)]), consent=None)
    assert (Consent.objects.count(), Lead.objects.get().consent) == (0, False)


def test_an_import_never_resubscribes_an_unsubscribed_lead(tmp_path):
    make_lead("user1@example.com", email_status=Lead.EmailStatus.UNSUBSCRIBED, consent=False)
    run(write(tmp_path, [HEADER, person(1)]))
    lead = Lead.objects.get()
    assert (lead.email_status, lead.consent, lead.consents.count()) == ("unsubscribed", False, 0)


def test_the_source_option_fills_the_source_of_new_leads_only(tmp_path):
    make_lead("user1@example.com", source="web")
    run(write(tmp_path, [HEADER, person(1), person(2)]), source="展示会")
    assert dict(Lead.objects.values_list("email", "source")) == {
        "user1@example.com": "web",
        "user2@example.com": "展示会",
    }


def test_new_leads_join_companies_by_domain_or_by_name_for_free_mail(tmp_path):
    existing = Company.objects.create(name="Sample", domain="sample.co.jp")
    rows = [
        ["email", "会社名"],
        ["a@sample.co.jp", "株式会社サンプル"],
        ["b@sample.co.jp", "サンプル"],
        ["c@gmail.com", "株式会社フリー"],
        ["d@yahoo.co.jp", "フリー(株)"],
        ["e@other.jp", ""],
        ["f@gmail.com", ""],
    ]
    run(write(tmp_path, rows))
    company = dict(Lead.objects.values_list("email", "company__name"))
    assert company["a@sample.co.jp"] == company["b@sample.co.jp"] == existing.name
    assert company["c@gmail.com"] == company["d@yahoo.co.jp"] == "株式会社フリー"
    assert (company["e@other.jp"], company["f@gmail.com"]) == ("other.jp", None)
    assert Company.objects.count() == 3


def test_an_existing_lead_without_a_company_gets_one_when_its_company_name_arrives(tmp_path):
    make_lead("a@gmail.com")
    run(write(tmp_path, [["email", "会社名"], ["a@gmail.com", "株式会社フリー"]]))
    assert Lead.objects.get().company.name == "株式会社フリー"


def test_companies_seen_in_an_earlier_batch_cost_no_query_in_later_ones(tmp_path):
    rows = [["email", "会社名"], *[[f"u{n}@sample.co.jp", "サンプル"] for n in range(3)], ["u@gmail.com", "フリー"]]
    file = write(tmp_path, [*rows, *[[f"v{n}@sample.co.jp", "サンプル"] for n in range(3)], ["v@gmail.com", "フリー"]])
    with CaptureQueriesContext(connection) as captured:
        run(file, batch_size=4)
    company_queries = [q["sql"] for q in captured if "leads_company" in q["sql"] and "leads_lead" not in q["sql"]]
    assert len(company_queries) == 3  # first batch only: find, create both, find again
    assert Company.objects.count() == 2
    assert set(Lead.objects.values_list("company__name", flat=True)) == {"サンプル", "フリー"}


@pytest.mark.django_db(transaction=True)  # the foreign key is checked when the batch really commits
def test_a_company_deleted_during_an_import_is_created_again_for_later_leads(tmp_path, monkeypatch):
    real_batch = importing.import_batch

    def delete_companies_after_the_first_batch(job, batch, **options):
        counts = real_batch(job, batch, **options)
        Company.objects.all().delete()  # as an admin might, while the import runs
        monkeypatch.setattr(importing, "import_batch", real_batch)
        return counts

    monkeypatch.setattr(importing, "import_batch", delete_companies_after_the_first_batch)
    file = write(tmp_path, [["email", "会社名"], ["a@sample.co.jp", "サンプル"], ["b@sample.co.jp", "サンプル"]])
    job = run(file, batch_size=1)
    assert counts(job) == (2, 0, 0, 0)
    assert Lead.objects.get(email="a@sample.co.jp").company is None  # its company was deleted
    assert Lead.objects.get(email="b@sample.co.jp").company.domain == "sample.co.jp"


def test_tags_are_added_and_never_removed(tmp_path):
    lead = make_lead("a@example.com")
    lead.tags.add(Tag.objects.create(name="old"))
    job = run(write(tmp_path, [["email", "タグ"], ["a@example.com", "new、vip"]]))
    assert counts(job) == (0, 1, 0, 0)
    assert sorted(lead.tags.values_list("name", flat=True)) == ["new", "old", "vip"]


# --- Batches, concurrency and resuming ---------------------------------------------


def test_a_batch_takes_a_fixed_number_of_queries_not_one_per_row(tmp_path):
    def queries(rows: int, start: int) -> int:
        file = write(
            tmp_path,
            [[*HEADER, "タグ"], *[[*person(n, email=f"u{n}@c{n}.jp"), "vip"] for n in range(start, start + rows)]],
        )
        with CaptureQueriesContext(connection) as captured:
            run(file)
        return len(captured)

    few, many = queries(5, 0), queries(400, 1_000)
    # Equal on PostgreSQL; SQLite splits bulk inserts into statements of at most 999 parameters.
    assert many - few < 40


def test_a_lead_inserted_between_the_read_and_the_write_is_updated_not_duplicated(tmp_path, monkeypatch):
    make_lead("user2@example.com", last_name="山田")
    real_fetch = importing.fetch_stored

    def fetch_missing_the_concurrent_lead(keys, **options):  # as if user2 was inserted after this read
        stored = real_fetch(keys, **options)
        monkeypatch.setattr(importing, "fetch_stored", real_fetch)
        return {key: lead for key, lead in stored.items() if key != "user2@example.com"}

    monkeypatch.setattr(importing, "fetch_stored", fetch_missing_the_concurrent_lead)
    job = run(write(tmp_path, [HEADER, person(1), person(2, last="佐藤")]))
    assert (counts(job), Lead.objects.count()) == ((1, 1, 0, 0), 2)
    assert Lead.objects.get(email="user2@example.com").last_name == "佐藤"


def test_an_interrupted_import_resumes_at_its_checkpoint_with_the_counts_of_one_run(tmp_path, monkeypatch):
    rows = [HEADER, *[person(n) for n in range(7)], person(3, last="佐藤"), ["bad", *"xxxx"], person(1), person(8)]
    file = write(tmp_path, rows)
    real_batch, calls = importing.import_batch, []

    def fail_after_first_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(importing, "import_batch", fail_after_first_batch)
    job = create_job(name=file.name)
    with pytest.raises(ConnectionError):
        run_import(job=job, path=file, batch_size=4)
    job.refresh_from_db()
    assert (job.status, job.rows_done, counts(job)) == (ImportJob.Status.FAILED, 4, (4, 0, 0, 0))
    assert "Stopped after 4 rows" in job.message
    run_import(job=job, path=file, batch_size=4)
    resumed = (counts(job), list(Lead.objects.order_by("email").values_list("email", "last_name")))
    Lead.objects.all().delete()
    assert resumed == (
        counts(run(file, batch_size=4)),
        list(Lead.objects.order_by("email").values_list("email", "last_name")),
    )
    assert resumed[0] == (8, 1, 1, 1) and job.status == ImportJob.Status.DONE


def test_a_second_runner_of_the_same_job_stops_without_counting_twice(tmp_path):
    file = write(tmp_path, [HEADER, person(1), person(2)])
    job = create_job(name=file.name)
    stale = ImportJob.objects.get(pk=job.pk)
    run_import(job=job, path=file)
    run_import(job=stale, path=file, batch_size=1)  # it still believes rows_done is 0
    job.refresh_from_db()
    assert (counts(job), Lead.objects.count(), stale.status) == ((2, 0, 0, 0), 2, ImportJob.Status.DONE)


# --- The command ------------------------------------------------------------------------


def call(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_leads", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_each_row_error_and_ends_with_the_counts(tmp_path):
    file = write(tmp_path, [[*HEADER, "Fax"], [*person(1), ""], [*person(2, email="bad"), ""]], encoding="cp932")
    out, err = call(str(file), "--consent", "none", "--source", "展示会")
    assert out.splitlines() == [
        "row 3, メールアドレス: is not a valid email address",
        "Ignored columns: Fax",
        "created 1, updated 0, unchanged 0, errors 1",
    ]
    assert "100% 2/2 rows" in err
    assert Lead.objects.get().source == "展示会"


def test_the_command_resumes_a_job_by_id(tmp_path):
    file = write(tmp_path, [HEADER, person(1), person(2)])
    job = create_job(name=file.name)
    out, _err = call(str(file), "--resume", str(job.pk))
    assert out.splitlines()[-1] == "created 2, updated 0, unchanged 0, errors 0"
    assert ImportJob.objects.get().status == ImportJob.Status.DONE


def test_the_command_refuses_to_resume_an_import_of_another_file(tmp_path):
    job = create_job(name="other.csv")
    with pytest.raises(CommandError, match="is not an import of leads.csv"):
        call(str(write(tmp_path, [HEADER])), "--resume", str(job.pk))


def test_the_command_fails_with_one_clear_line_on_a_binary_file(tmp_path):
    file = tmp_path / "photo.png"
    file.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(CommandError, match="^photo.png is not a CSV text file"):
        call(str(file))


# --- The admin pages ----------------------------------------------------------------------


@pytest.fixture
def marketer(client):
    client.force_login(make_user("marketer", role="marketer"))
    return client


def test_the_import_pages_need_the_permission_to_add_leads(client):
    client.force_login(make_user("sales", role="sales"))
    assert client.get("/admin/leads/import/").status_code == 403
    client.logout()
    assert client.get("/admin/leads/import/").status_code == 302


def test_an_upload_creates_a_job_and_runs_it_after_commit(
    marketer, monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    enqueue.reset()
    upload = SimpleUploadedFile("展示会.csv", "email,氏名\r\na@example.com,山田 太郎\r\n".encode("cp932"))
    data = {"file": upload, "encoding": "auto", "consent": "business_card", "source": "展示会"}
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer.post("/admin/leads/import/", data)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/leads/import/{job.pk}/"
    assert job.status == ImportJob.Status.DONE and job.original_name == "展示会.csv"
    assert (Lead.objects.get().source, Consent.objects.get().method) == ("展示会", "business_card")


def test_an_upload_with_the_broker_down_still_answers_and_the_job_waits(
    marketer, monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path

    class BrokerDown:
        @staticmethod
        def apply_async(args: tuple, **options) -> None:
            raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "import_leads_job", BrokerDown)
    enqueue.reset()
    data = {"file": SimpleUploadedFile("a.csv", b"email\r\na@example.com\r\n"), "encoding": "auto", "consent": "none"}
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer.post("/admin/leads/import/", data)
    enqueue.reset()
    assert response.status_code == 302 and ImportJob.objects.get().status == ImportJob.Status.PENDING
    monkeypatch.undo()
    settings.MEDIA_ROOT = tmp_path
    ImportJob.objects.update(started_at=timezone.now() - timedelta(minutes=5))
    assert tasks.start_pending(older_than=timedelta(minutes=2)) == 1  # the sweeper starts it (eagerly here)
    assert ImportJob.objects.get().status == ImportJob.Status.DONE and Lead.objects.count() == 1


def test_the_upload_page_shows_the_form_and_recent_imports_in_the_admin(marketer):
    create_job(name="<b>old.csv")
    html = marketer.get("/admin/leads/import/").content.decode()
    assert 'id="site-name"' in html and 'type="file"' in html
    assert "&lt;b&gt;old.csv" in html and "<b>old" not in html


def test_the_detail_page_shows_progress_counts_and_escaped_errors_and_refreshes_while_running(marketer):
    job = create_job(name="leads.csv")
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=10, rows_done=4, created=3, errors=1)
    ImportRowError.objects.create(job=job, row=3, field="姓", reason="<script>alert(1)</script>")
    html = marketer.get(f"/admin/leads/import/{job.pk}/").content.decode()
    assert 'http-equiv="refresh"' in html and 'value="4"' in html and "4 / 10" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    ImportJob.objects.filter(pk=job.pk).update(status="done")
    assert 'http-equiv="refresh"' not in marketer.get(f"/admin/leads/import/{job.pk}/").content.decode()


def test_the_detail_page_lists_the_first_thousand_errors(marketer):
    job = create_job(name="leads.csv")
    ImportRowError.objects.bulk_create([ImportRowError(job=job, row=n, reason="bad") for n in range(2, 1_100)])
    html = marketer.get(f"/admin/leads/import/{job.pk}/").content.decode()
    assert html.count("<td>bad</td>") == 1_000
