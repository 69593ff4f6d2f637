"""Submitting a form: the raw submission at once; the lead, its consent and its scored activity on a worker."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.http import QueryDict
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from landing import followups, ingesting, submitting, tasks
from landing.models import Submission
from landing.submitting import Meta, submit
from leads import stream
from leads.models import Activity, Consent, Lead
from scoring.models import ScoringRule
from tests.factories import make_lead
from tests.landing.form_helpers import VID, WORDING, aged_token, make_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; test_definitions checks the Japanese catalogue."""
    with translation.override("en"):
        yield


META = Meta(client_ip="203.0.113.9", page_url="https://www.example.co.jp/lp/", utm={"utm_campaign": "spring"})


def send(form, meta: Meta = META, **values):
    """Submit, then run what follows the commit (tasks run eagerly here): the state a few seconds later."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return submit(form=form, data={"_token": aged_token(form), "email": "taro@example.co.jp", **values}, meta=meta)


def test_a_valid_submission_keeps_the_raw_values_and_creates_the_lead(django_capture_on_commit_callbacks):
    form = make_form()
    with django_capture_on_commit_callbacks(execute=True):
        result = send(form, last_name="山田", company="株式会社サンプル", size="51-300", interests=["SFA", "MA"])
    assert result.ok and result.errors == {}
    submission = Submission.objects.get()
    assert submission.data["last_name"] == "山田"
    assert submission.data["interests"] == ["MA", "SFA"]
    assert submission.data["campaign"] == "spring"  # the hidden field took the visit's utm_campaign
    lead = Lead.objects.get()
    assert (lead.email, lead.last_name, lead.company_name, lead.consent) == (
        "taro@example.co.jp",
        "山田",
        "株式会社サンプル",
        False,
    )
    assert lead.first_touch["utm_campaign"] == "spring"
    activity = Activity.objects.get(kind=Activity.Kind.FORM_SUBMIT)
    assert (activity.lead, activity.form_id, submission.activity) == (lead, form.pk, activity)
    assert activity.data["utm"] == {"utm_campaign": "spring"}
    assert activity.processed_at is not None


def test_a_query_dict_from_a_real_post_is_read_like_a_dict():
    form = make_form()
    data = QueryDict(mutable=True)
    data.update({"_token": aged_token(form), "email": "q@example.com"})
    data.setlist("interests", ["MA", "SFA"])
    assert submit(form=form, data=data, meta=META).ok
    assert Submission.objects.get().data["interests"] == ["MA", "SFA"]


def test_full_width_and_differently_cased_duplicates_make_one_lead():
    form = make_form()
    for email in ("Taro@Example.co.jp", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", " taro@example.co.jp "):
        assert send(form, email=email).ok
    assert Lead.objects.count() == 1
    assert Submission.objects.filter(lead=Lead.objects.get()).count() == 3


def test_a_ticked_consent_box_records_its_wording_on_the_consent():
    assert send(make_form(), consent="on").ok
    lead = Lead.objects.get()
    consent = Consent.objects.get(lead=lead)
    assert (lead.consent, consent.method, consent.wording, consent.source) == (True, "form", WORDING, "whitepaper")


def test_an_unticked_consent_box_grants_no_consent():
    assert send(make_form()).ok
    assert Lead.objects.get().consent is False
    assert not Consent.objects.exists()


def test_a_required_consent_box_left_unticked_is_an_error():
    fields = [*make_form().fields]
    fields[-1] = {**fields[-1], "required": True}
    result = send(make_form(slug="strict", fields=fields))
    assert result.status == 400 and result.errors == {"consent": ["must be ticked to continue"]}


@pytest.mark.parametrize(
    ("values", "key", "reason"),
    [
        ({"email": ""}, "email", "is required"),
        ({"email": "not-an-address"}, "email", "is not a valid email address"),
        ({"email": "a" * 1000 + "@example.com"}, "email", "is too long"),
        ({"last_name": "山" * 1000}, "last_name", "is too long"),
        ({"message": "x" * 2001}, "message", "is too long (2001 characters, at most 2000)"),
        ({"phone": "call me maybe"}, "phone", "is not a phone number"),
        ({"size": "10000+"}, "size", "is not one of the choices"),
        ({"interests": ["MA", "ERP"]}, "interests", "is not one of the choices"),
        ({"last_name": "bad\x00nul"}, "last_name", "contains control characters"),
    ],
)
def test_each_wrong_value_is_refused_with_a_message_for_its_field(values, key, reason):
    result = send(make_form(), **values)
    assert result.status == 400
    assert reason in result.errors[key][0]
    assert not Submission.objects.exists() and not Lead.objects.exists()


def test_html_is_stored_as_text():
    script = "<script>alert('x')</script>"
    assert send(make_form(), last_name=script, message=script).ok
    assert Lead.objects.get().last_name == script
    assert Submission.objects.get().data["message"] == script


def test_unknown_keys_are_not_stored():
    assert send(make_form(), is_admin="1", score="9999").ok
    assert set(Submission.objects.get().data) == {f["key"] for f in make_form(slug="other").fields}
    assert Lead.objects.get().score == 0


def test_a_hidden_field_ignores_what_was_posted_for_it():
    assert send(make_form(), campaign="forged").ok
    assert Submission.objects.get().data["campaign"] == "spring"


def test_a_filled_honeypot_is_answered_like_a_success_and_dropped():
    result = send(make_form(), website="http://spam.example")
    assert result.ok and result.submission is None
    assert not Submission.objects.exists() and not Lead.objects.exists()


def test_a_submission_faster_than_the_minimum_fill_time_is_refused():
    form = make_form(min_fill_seconds=5)
    result = submit(form=form, data={"_token": aged_token(form, seconds=1), "email": "a@example.com"}, meta=META)
    assert result.status == 400 and "too quickly" in result.errors["__all__"][0]


@pytest.mark.parametrize("token", ["", "forged", "eyJmIjoxfQ:1abc:def"])
def test_a_missing_or_forged_token_is_refused(token):
    result = submit(form=make_form(), data={"_token": token, "email": "a@example.com"}, meta=META)
    assert result.status == 403 and not Lead.objects.exists()


def test_a_token_of_another_form_is_refused():
    other = make_form(slug="other")
    result = submit(form=make_form(), data={"_token": aged_token(other), "email": "a@example.com"}, meta=META)
    assert result.status == 403


def test_an_expired_token_asks_to_submit_again():
    form = make_form()
    token = aged_token(form, seconds=submitting.TOKEN_MAX_AGE + 10)
    result = submit(form=form, data={"_token": token, "email": "a@example.com"}, meta=META)
    assert result.status == 400 and "open too long" in result.errors["__all__"][0]
    assert not Lead.objects.exists()


def test_the_rate_limit_per_address_refuses_the_eleventh_submission_with_429(settings):
    settings.FORM_RATE_LIMIT_PER_MINUTE = 10
    form = make_form()
    statuses = [send(form, email=f"p{n}@example.com").status for n in range(11)]
    assert statuses == [200] * 10 + [429]
    other_network = Meta(client_ip="198.51.100.7")
    assert send(form, meta=other_network, email="q@example.com").status == 200


def test_the_rate_limit_per_form_counts_every_network(settings):
    settings.FORM_RATE_LIMIT_PER_FORM_PER_MINUTE = 3
    form = make_form()
    statuses = [send(form, meta=Meta(client_ip=f"198.51.100.{n}"), email=f"p{n}@example.com").status for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_huge_body_or_too_many_keys_are_refused():
    form = make_form()
    assert send(form, meta=Meta(body_size=2 * 1024 * 1024)).status == 413
    assert send(form, **{f"k{n}": "x" for n in range(100)}).status == 400


def test_the_visitors_anonymous_page_views_join_the_lead(django_capture_on_commit_callbacks):
    ScoringRule.objects.create(name="料金ページ", event_kind=Activity.Kind.PAGE_VIEW, url_pattern="/pricing", points=3)
    stream.record(kind=Activity.Kind.PAGE_VIEW, visitor_id=VID, url="https://www.example.co.jp/pricing")
    with django_capture_on_commit_callbacks(execute=True):
        assert send(make_form(), meta=Meta(visitor_id=VID)).ok
    lead = Lead.objects.get()
    assert lead.activities.filter(kind=Activity.Kind.PAGE_VIEW).count() == 1
    assert Submission.objects.get().visitor_id == VID
    assert lead.score == 3


def test_the_form_submit_activity_is_scored_by_the_rules(django_capture_on_commit_callbacks):
    form = make_form()
    ScoringRule.objects.create(name="資料請求", event_kind=Activity.Kind.FORM_SUBMIT, form_id=form.pk, points=20)
    ScoringRule.objects.create(name="他のフォーム", event_kind=Activity.Kind.FORM_SUBMIT, form_id=form.pk + 1, points=7)
    with django_capture_on_commit_callbacks(execute=True):
        assert send(form).ok
    assert Lead.objects.get().score == 20


# --- Follow-ups ---------------------------------------------------------------------------


def test_follow_ups_send_the_auto_reply_and_notify_staff_once(django_capture_on_commit_callbacks):
    form = make_form(auto_reply=True, auto_reply_subject="資料のご案内", auto_reply_body="ありがとうございます",
                     notify_emails="sales@example.com, not-an-address, ma@example.com")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert send(form, last_name="<b>山田</b>").ok
    assert [message.to for message in mail.outbox] == [["taro@example.co.jp"], ["sales@example.com", "ma@example.com"]]
    assert mail.outbox[0].subject == "資料のご案内"
    assert "last_name: <b>山田</b>" in mail.outbox[1].body  # a text email: nothing to escape
    assert Submission.objects.get().followups_sent_at is not None
    assert followups.send_followups(Submission.objects.get().pk) is False
    assert len(mail.outbox) == 2


def test_an_address_typed_full_width_is_kept_as_typed_and_answered_half_width(django_capture_on_commit_callbacks):
    form = make_form(auto_reply=True, auto_reply_body="ありがとうございます")
    with django_capture_on_commit_callbacks(execute=True):
        assert send(form, email="ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ").ok
    assert Lead.objects.get().email == "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ"
    assert [message.to for message in mail.outbox] == [["taro@example.co.jp"]]


def test_a_broker_failure_never_fails_the_submission_and_the_sweeper_sends_later(
    django_capture_on_commit_callbacks, monkeypatch
):
    form = make_form(auto_reply=True, auto_reply_body="ありがとうございます")
    with (
        mock.patch("landing.tasks.send_followups.apply_async", side_effect=OSError("redis down")),
        mock.patch("leads.tasks.process_activities.apply_async", side_effect=OSError("redis down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send(form).ok
    assert mail.outbox == [] and Submission.objects.get().followups_sent_at is None
    Submission.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    Activity.objects.update(occurred_at=timezone.now() - timedelta(minutes=5))
    assert followups.sweep() == 1 and stream.sweep() == 1
    assert len(mail.outbox) == 1 and followups.sweep() == 0


def test_after_a_broker_failure_the_next_submissions_do_not_wait_for_it(
    django_capture_on_commit_callbacks, monkeypatch
):
    form = make_form()
    with mock.patch("landing.tasks.send_followups.apply_async", side_effect=OSError("redis down")) as publish:
        for n in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                assert send(form, email=f"p{n}@example.com").ok
    assert publish.call_count == 1
    assert Submission.objects.filter(followups_sent_at__isnull=True).count() == 3


def test_a_failed_send_leaves_the_follow_ups_due():
    with mock.patch("landing.ingesting.enqueue_followups"):  # sent by hand below instead
        send(make_form(auto_reply=True, auto_reply_body="x"))
    submission = Submission.objects.get()
    with mock.patch("landing.followups.send_mail", side_effect=OSError("smtp down")), pytest.raises(OSError):
        followups.send_followups(submission.pk)
    submission.refresh_from_db()
    assert submission.followups_sent_at is None


def test_the_request_only_stores_the_raw_submission_and_a_worker_makes_the_lead():
    form = make_form()
    with mock.patch("landing.tasks.ingest_submissions.apply_async") as wake:  # no worker yet
        with TestCase.captureOnCommitCallbacks(execute=True), CaptureQueriesContext(connection) as queries:
            assert submit(form=form, data={"_token": aged_token(form), "email": "taro@example.co.jp"}, meta=META).ok
        assert (Submission.objects.get().ingested_at, Lead.objects.count(), wake.call_count) == (None, 0, 1)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert ingesting.ingest_pending() == 1 and ingesting.ingest_pending() == 0
    submission = Submission.objects.get()
    assert submission.lead == Lead.objects.get() and submission.activity.kind == Activity.Kind.FORM_SUBMIT
    assert submission.activity.occurred_at == submission.created_at  # scored as of the post, not of the ingest


def test_a_burst_of_submissions_wakes_the_worker_once_and_the_next_burst_again():
    form = make_form()
    with mock.patch("landing.tasks.ingest_submissions.apply_async") as wake:
        for n in range(3):
            assert send(form, email=f"p{n}@example.com").ok
        assert wake.call_count == 1
        assert ingesting.ingest_pending() == 3  # the worker's run: it forgets the wake-up first
        assert send(form, email="p3@example.com").ok
        assert wake.call_count == 2


def test_with_the_broker_down_the_sweeper_makes_the_lead_later():
    form = make_form(auto_reply=True, auto_reply_body="x")
    with mock.patch("landing.tasks.ingest_submissions.apply_async", side_effect=OSError("redis down")):
        assert send(form).ok
    assert (Submission.objects.count(), Lead.objects.count()) == (1, 0)
    assert tasks.sweep_followups() == 0  # younger than the grace period: left to its own wake-up
    Submission.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert tasks.sweep_followups() == 1  # ingested, then its auto-reply sent
    assert Submission.objects.get().lead == Lead.objects.get() and len(mail.outbox) == 1


def test_a_submission_is_ingested_once_however_often_it_is_asked():
    form = make_form()
    with mock.patch("landing.tasks.ingest_submissions.apply_async"):
        send(form, consent="on")
    submission_id = Submission.objects.get().pk
    assert [ingesting.ingest(submission_id) for _ in range(3)] == [True, False, False]
    assert (Activity.objects.filter(kind=Activity.Kind.FORM_SUBMIT).count(), Consent.objects.count()) == (1, 1)


def test_no_auto_reply_to_a_bounced_address(django_capture_on_commit_callbacks):
    make_lead("taro@example.co.jp", email_status=Lead.EmailStatus.BOUNCED)
    with django_capture_on_commit_callbacks(execute=True):
        assert send(make_form(auto_reply=True, auto_reply_body="x")).ok
    assert mail.outbox == []


# --- Double opt-in --------------------------------------------------------------------------


def test_double_opt_in_grants_consent_only_on_confirmation(django_capture_on_commit_callbacks):
    form = make_form(double_opt_in=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert send(form, consent="on").ok
    lead, submission = Lead.objects.get(), Submission.objects.get()
    assert lead.consent is False and not Consent.objects.exists()
    assert len(mail.outbox) == 1
    token = re.search(r"/f/whitepaper/confirm/([^/\s]+)/", mail.outbox[0].body)[1]  # signed when sent: a timestamp
    assert followups.submission_for_confirmation("whitepaper", token) == submission
    assert followups.confirm_opt_in(submission) is True
    assert followups.confirm_opt_in(submission) is False  # the link used twice: one consent
    lead.refresh_from_db()
    assert lead.consent is True
    assert list(Consent.objects.values_list("wording", flat=True)) == [WORDING]


def test_double_opt_in_without_the_box_ticked_sends_no_confirmation(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert send(make_form(double_opt_in=True)).ok
    assert mail.outbox == []
