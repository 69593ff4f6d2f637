"""The hosted and embedded form over HTTP: rendering, CSRF and origins, answers, confirmation and downloads."""

import re
import time
from unittest import mock

import pytest
from django.core import mail, signing
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import translation

from landing import downloads, followups, form_cache
from landing.models import Form, Submission
from leads.models import Activity, Lead
from tests.landing.form_helpers import VID, WORDING, aged_token, make_form, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    """Messages are asserted in English; test_definitions checks the Japanese catalogue."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


SITE = "https://www.example.co.jp"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def asset_form(**attrs):
    form = make_form(success_action="asset", **attrs)
    form.asset.save("whitepaper.pdf", ContentFile(b"%PDF-1.4 sample"), save=True)
    return form


def download_link(response) -> str:
    return re.search(r'href="(/d/[^"]+/)"', response.content.decode())[1]


# --- Showing the form ---------------------------------------------------------------------


def test_a_published_form_is_shown_with_its_fields_and_a_signed_token(client):
    make_form()
    response = client.get("/f/whitepaper/", HTTP_ACCEPT_LANGUAGE="ja")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in body and 'name="_token"' in body and 'name="csrfmiddlewaretoken"' in body
    assert WORDING in body and 'name="consent" value="on" id="f-consent">' in body  # never pre-checked
    assert 'name="campaign"' not in body  # hidden fields are filled in by the server
    assert response["X-Frame-Options"] == "DENY"


def test_an_unpublished_or_unknown_form_is_404(client):
    make_form(published=False)
    assert client.get("/f/whitepaper/").status_code == 404
    assert client.get("/f/nothing/").status_code == 404
    assert post(client, make_form(slug="draft", published=False), {"email": "a@example.com"}).status_code == 404


def test_the_form_speaks_english_to_english_browsers(client):
    make_form(fields=[{"key": "email", "type": "email", "label": "Email", "required": True, "maps_to": "email"},
                      {"key": "size", "type": "select", "label": "Size", "options": ["S", "L"]}])  # fmt: skip
    response = client.get("/f/whitepaper/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en">' in response.content.decode()


def test_a_new_visitor_gets_a_first_party_id_and_a_returning_one_records_a_page_view(client):
    make_form()
    first = client.get("/f/whitepaper/")
    assert re.fullmatch(r"[0-9a-f]{32}", first.cookies["_mauto_vid"].value)
    assert not Activity.objects.exists()
    client.cookies["_mauto_vid"] = VID
    client.get("/f/whitepaper/?utm_source=news", HTTP_REFERER="https://www.google.com/")
    view = Activity.objects.get(kind=Activity.Kind.PAGE_VIEW)
    assert (view.visitor_id, view.data["utm"], view.data["referrer"]) == (
        VID,
        {"utm_source": "news"},
        "https://www.google.com/",
    )


def test_the_embedded_form_may_be_framed_by_the_allowed_origins_only(client):
    make_form(allowed_origins=f"{SITE}\nhttps://evil.example; script-src *\n")
    response = client.get(f"/f/whitepaper/?embed=1&vid={VID}&page={SITE}/lp/")
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == f"frame-ancestors {SITE}"
    body = response.content.decode()
    assert "csrfmiddlewaretoken" not in body and f'value="{VID}"' in body and 'action="/f/whitepaper/?embed=1' in body


def test_without_allowed_origins_the_embedded_form_may_not_be_framed(client):
    make_form()
    assert client.get("/f/whitepaper/?embed=1")["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_the_embed_script_is_served_for_published_forms(client):
    make_form()
    response = client.get("/f/whitepaper/embed.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert b"visitorId" in response.content and b"embed" in response.content
    assert client.get("/f/nothing/embed.js").status_code == 404


# --- Posting ----------------------------------------------------------------------------


def test_a_hosted_post_shows_the_success_message(client):
    form = make_form(success_message="ありがとうございました。")
    response = post(client, form, {"email": "taro@example.co.jp", "consent": "on"})
    assert response.status_code == 200 and "ありがとうございました。" in response.content.decode()
    assert Lead.objects.get().consent is True


def test_a_hosted_post_without_the_csrf_token_is_refused():
    form = make_form()
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    assert post(client, form, {"email": "taro@example.co.jp"}).status_code == 403
    assert not Submission.objects.exists()


def test_a_hosted_post_with_the_csrf_token_is_accepted():
    form = make_form()
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get("/f/whitepaper/").content.decode())[1]
    assert post(client, form, {"email": "taro@example.co.jp", "csrfmiddlewaretoken": token}).status_code == 200


def test_an_embedded_post_from_an_allowed_origin_needs_no_csrf_cookie():
    form = make_form(allowed_origins=SITE)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = post(client, form, {"email": "taro@example.co.jp", "_vid": VID, "_page": f"{SITE}/lp/"},
                    query="?embed=1&utm_source=ads", HTTP_ORIGIN=SITE)  # fmt: skip
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == f"frame-ancestors {SITE}"
    submission = Submission.objects.get()
    assert (submission.embedded, submission.visitor_id, submission.page_url) == (True, VID, f"{SITE}/lp/")
    assert submission.utm == {"utm_source": "ads"}


def test_an_embedded_post_from_the_iframe_on_our_own_origin_is_accepted():
    form = make_form(allowed_origins=SITE)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = post(client, form, {"email": "a@example.com"}, query="?embed=1", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 200


def test_a_post_from_a_disallowed_origin_is_403():
    form = make_form(allowed_origins=SITE)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    response = post(client, form, {"email": "a@example.com"}, query="?embed=1", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403 and not Submission.objects.exists()


def test_an_embedded_post_with_a_forged_token_is_403():
    form = make_form(allowed_origins=SITE)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    body = {"_token": signing.dumps({"f": form.pk, "t": 0.0}, salt="another-salt"), "email": "a@example.com"}
    response = client.post("/f/whitepaper/?embed=1", body, HTTP_ORIGIN=SITE)
    assert response.status_code == 403 and not Submission.objects.exists()


def test_wrong_values_show_the_form_again_with_escaped_per_field_errors(client):
    script = "<script>alert(1)</script>"
    response = post(client, make_form(), {"email": "not-an-address", "last_name": script, "size": "nope"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "is not a valid email address" in body and "is not one of the choices" in body
    assert script not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'value="not-an-address"' in body  # what the visitor typed is kept


def test_a_thousand_character_value_is_an_error_not_a_crash(client):
    response = post(client, make_form(), {"email": "a@example.com", "last_name": "長" * 1000})
    assert response.status_code == 400 and "is too long" in response.content.decode()


def test_a_two_megabyte_body_is_refused_with_413(client):
    response = post(client, make_form(), {"email": "a@example.com", "message": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413 and not Submission.objects.exists()


def test_a_filled_honeypot_looks_like_a_success_and_stores_nothing(client):
    response = post(client, make_form(), {"email": "a@example.com", "website": "http://spam.example"})
    assert response.status_code == 200 and not Submission.objects.exists()


def test_a_post_faster_than_the_minimum_fill_time_shows_the_form_again(client):
    form = make_form(min_fill_seconds=30)
    response = client.post("/f/whitepaper/", {"_token": aged_token(form, 1), "email": "a@b.co"})
    assert response.status_code == 400 and "too quickly" in response.content.decode()


def test_the_rate_limit_answers_429_with_a_message(client, settings):
    settings.FORM_RATE_LIMIT_PER_MINUTE = 2
    form = make_form()
    statuses = [post(client, form, {"email": f"p{n}@example.com"}).status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    assert "Too many submissions" in post(client, form, {"email": "q@example.com"}).content.decode()


def test_a_redirect_goes_to_the_staff_set_url_only(client):
    form = make_form(success_action="redirect", redirect_url="https://www.example.co.jp/thanks/")
    response = post(client, form, {"email": "a@example.com", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "https://www.example.co.jp/thanks/"


def test_a_non_http_redirect_url_falls_back_to_the_message(client):
    form = make_form(success_action="redirect", redirect_url="ftp://files.example.com/")
    response = post(client, form, {"email": "a@example.com"})
    assert response.status_code == 200 and "ftp://" not in response.content.decode()


def test_the_visitors_page_views_join_the_lead_after_submitting(client):
    make_form()
    client.cookies["_mauto_vid"] = VID
    client.get("/f/whitepaper/")
    post(client, make_form(slug="second"), {"email": "taro@example.co.jp"})
    lead = Lead.objects.get()
    assert set(lead.activities.values_list("kind", flat=True)) == {"page_view", "form_submit"}


# --- Double opt-in confirmation -------------------------------------------------------------


def test_following_the_confirmation_link_and_pressing_the_button_grants_consent(
    client, django_capture_on_commit_callbacks
):
    form = make_form(double_opt_in=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form, {"email": "taro@example.co.jp", "consent": "on"})
    assert "confirm" in response.content.decode()
    path = re.search(r"http://127\.0\.0\.1:8000(/f/whitepaper/confirm/[^/\s]+/)", mail.outbox[0].body)[1]
    assert client.get(path).status_code == 200
    assert Lead.objects.get().consent is False  # a mail scanner following the link subscribes nobody
    assert client.post(path).status_code == 200
    assert Lead.objects.get().consent is True


@pytest.mark.parametrize("token", ["forged", "x" * 500])
def test_a_forged_confirmation_link_is_refused(client, token):
    make_form(double_opt_in=True)
    assert client.get(f"/f/whitepaper/confirm/{token}/").status_code == 403
    assert client.post(f"/f/whitepaper/confirm/{token}/").status_code == 403


def test_a_confirmation_link_for_another_form_is_refused(client):
    form = make_form(double_opt_in=True)
    post(client, form, {"email": "a@example.com", "consent": "on"})
    token = followups.confirm_token(Submission.objects.get())
    make_form(slug="other")
    assert client.post(f"/f/other/confirm/{token}/").status_code == 403


# --- Gated download -------------------------------------------------------------------------


def test_the_asset_is_offered_after_submitting_and_its_download_is_recorded_once_a_day(client):
    response = post(client, asset_form(), {"email": "taro@example.co.jp"})
    link = download_link(response)
    for _ in range(2):
        download = client.get(link)
        assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 sample"
    assert 'filename="whitepaper' in download["Content-Disposition"]
    activity = Activity.objects.get(kind=Activity.Kind.DOWNLOAD)
    assert activity.lead == Lead.objects.get()


def test_a_download_clicked_before_a_worker_made_the_lead_makes_it_and_is_recorded(client):
    with mock.patch("landing.tasks.ingest_submissions.apply_async"):  # the worker has not run yet
        response = post(client, asset_form(), {"email": "taro@example.co.jp"})
    assert Lead.objects.count() == 0 and response.status_code == 200
    assert client.get(download_link(response)).status_code == 200
    assert Activity.objects.get(kind=Activity.Kind.DOWNLOAD).lead == Lead.objects.get()


def test_an_expired_download_link_is_410(client):
    form = asset_form(asset_link_hours=1)
    link = download_link(post(client, form, {"email": "a@example.com"}))
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 2 * 3600):
        response = client.get(link)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not Activity.objects.filter(kind=Activity.Kind.DOWNLOAD).exists()


@pytest.mark.parametrize("token", ["tampered", "eyJzIjoxfQ:1v1:forged", "%00", "x" * 3000])
def test_a_tampered_download_link_is_403(client, token):
    response = client.get(f"/d/{token}/")
    assert response.status_code == 403 and "not valid" in response.content.decode()


def test_a_download_link_for_another_submission_cannot_be_forged(client):
    form = asset_form()
    post(client, form, {"email": "a@example.com"})
    good = downloads.download_url(Submission.objects.get())
    forged = good.replace(good.split("/")[2].split(":")[0], signing.b64_encode(b'{"s":999}').decode())
    assert client.get(forged).status_code == 403


def test_a_download_whose_file_vanished_is_a_clear_404(client):
    form = asset_form()
    link = download_link(post(client, form, {"email": "a@example.com"}))
    form.asset.storage.delete(form.asset.name)
    assert client.get(link).status_code == 404


def test_a_spam_submission_gets_no_download_link(client):
    response = post(client, asset_form(), {"email": "a@example.com", "website": "spam"})
    assert "/d/" not in response.content.decode()


def test_garbage_bodies_are_refused_without_a_server_error(client):
    form = make_form()
    broken = client.post("/f/whitepaper/", b"--x\r\nbroken", content_type="multipart/form-data; boundary=x")
    as_json = client.post("/f/whitepaper/", {"email": "a@example.com"}, content_type="application/json")
    many = client.post(
        "/f/whitepaper/", "&".join(f"k{n}=v" for n in range(5000)), content_type="application/x-www-form-urlencoded"
    )
    assert (broken.status_code, as_json.status_code, many.status_code) == (403, 403, 400)  # no token: 403
    assert post(client, form, {"email": "a@example.com", **{f"k{n}": "v" for n in range(50)}}).status_code == 400
    assert not Submission.objects.exists()


# --- The form kept per process ----------------------------------------------------------------


def test_a_burst_of_posts_reads_the_form_once_and_stores_each_post_in_one_insert(client, django_assert_num_queries):
    form = make_form()

    def submit(email: str) -> int:  # what the request itself does; the worker's part runs after the commit
        return client.post("/f/whitepaper/", {"_token": aged_token(form), "email": email}).status_code

    with django_assert_num_queries(2):  # the form, then the submission
        assert submit("a@example.com") == 200
    for email in ("b@example.com", "c@example.com"):
        with django_assert_num_queries(1):
            assert submit(email) == 200
    stored = Submission.objects.order_by("pk")
    assert [row.data["email"] for row in stored] == ["a@example.com", "b@example.com", "c@example.com"]
    assert all(row.form_id == form.pk and row.ingested_at is None and row.created_at for row in stored)


def test_an_edit_saved_in_this_process_applies_to_the_next_post_at_once(client):
    form = make_form()
    assert post(client, form, {"email": "a@example.com"}).status_code == 200
    form.published = False
    form.save()
    assert post(client, form, {"email": "b@example.com"}).status_code == 404
    assert Submission.objects.count() == 1


def test_an_edit_made_by_another_process_applies_once_the_form_is_read_again(client, monkeypatch):
    """Another process's save sends no signal here: the form is read again after form_cache.TTL."""
    clock = [1000.0]
    monkeypatch.setattr(form_cache.time, "monotonic", lambda: clock[0])
    form = make_form()
    assert post(client, form, {"email": "a@example.com"}).status_code == 200
    Form.objects.filter(pk=form.pk).update(success_message="Edited elsewhere.")
    clock[0] += form_cache.TTL + 1
    assert "Edited elsewhere." in post(client, form, {"email": "b@example.com"}).content.decode()
    Form.objects.filter(pk=form.pk).update(published=False)
    clock[0] += form_cache.TTL + 1
    assert post(client, form, {"email": "c@example.com"}).status_code == 404
    assert client.get("/f/whitepaper/embed.js").status_code == 404


def test_unknown_slugs_do_not_grow_the_kept_forms_without_bound(client, monkeypatch):
    monkeypatch.setattr(form_cache, "KEPT", 5)
    for n in range(12):
        assert client.get(f"/f/nothing-{n}/").status_code == 404
    assert len(form_cache._forms) <= 5


def test_the_thank_you_page_is_rendered_once_per_form_version_and_language(client):
    form = make_form(success_message="Thanks, v1.")
    first = post(client, form, {"email": "a@example.com"})
    second = post(client, form, {"email": "b@example.com"})
    assert [t.name for t in first.templates][:1] == ["landing/form_done.html"] and not second.templates
    assert first.content == second.content and "Thanks, v1." in second.content.decode()
    japanese = post(client, form, {"email": "c@example.com"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert '<html lang="ja">' in japanese.content.decode()
    form.success_message = "Thanks, v2."
    form.save()
    assert "Thanks, v2." in post(client, form, {"email": "d@example.com"}).content.decode()
    assert Submission.objects.count() == 4
