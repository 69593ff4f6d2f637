from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from campaigns import sending, throttle, tracking, transports
from campaigns.models import Campaign, Send
from leads.consents import unsubscribe
from leads.models import Activity, Lead
from tests.factories import make_campaign, make_lead, make_list
from tests.smtp_sink import start_sink

pytestmark = pytest.mark.django_db


def _leads(count: int, **fields) -> list[Lead]:
    return [make_lead(f"user{n}@example.com", consent=True, last_name=f"姓{n}", **fields) for n in range(count)]


def _broadcast(leads, *, suppressed=(), **fields) -> Campaign:
    campaign = make_campaign(**fields)
    campaign.lists.add(make_list(*leads))
    if suppressed:
        campaign.suppression_lists.add(make_list(*suppressed, kind="suppression", name="Competitors"))
    return campaign


def _send(campaign, capture) -> int:
    with capture(execute=True):
        return sending.start(campaign=campaign)


def test_broadcast_sends_once_to_each_mailable_recipient_and_records_it(sender, django_capture_on_commit_callbacks):
    mailable = _leads(3)
    others = [
        make_lead("noconsent@example.com"),
        make_lead("gone@example.com", consent=True, email_status=Lead.EmailStatus.UNSUBSCRIBED),
        make_lead("bounced@example.com", consent=True, email_status=Lead.EmailStatus.BOUNCED),
        make_lead("angry@example.com", consent=True, email_status=Lead.EmailStatus.COMPLAINED),
        make_lead("rival@example.com", consent=True),
    ]
    campaign = _broadcast(mailable + others, suppressed=[others[-1]])

    assert _send(campaign, django_capture_on_commit_callbacks) == 3

    assert sorted(m.to[0] for m in mail.outbox) == sorted(lead.email for lead in mailable)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count, campaign.recipients) == (Campaign.Status.SENT, 3, 3)
    sent = Activity.objects.filter(kind=Activity.Kind.EMAIL_SENT, campaign_id=campaign.pk)
    assert sorted(sent.values_list("lead__email", flat=True)) == sorted(lead.email for lead in mailable)
    assert all(message_id for message_id in Send.objects.values_list("message_id", flat=True))


def test_every_message_carries_the_legal_footer_and_the_one_click_headers(sender, django_capture_on_commit_callbacks):
    _send(_broadcast(_leads(1)), django_capture_on_commit_callbacks)

    message = mail.outbox[0]
    html = message.alternatives[0][0]
    send = Send.objects.get()
    for part in (message.body, html):
        assert "株式会社テスト" in part and "東京都千代田区1-1" in part and "info@example.com" in part
        assert tracking.unsubscribe_url(send.pk) in part
    assert "配信" in message.body  # the statement that the recipient may refuse further mail
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert "姓0 様" in html and "color: red" in html


def test_a_lead_unsubscribed_by_one_click_is_skipped_by_the_next_broadcast(sender, django_capture_on_commit_callbacks):
    leads = _leads(2)
    _send(_broadcast(leads), django_capture_on_commit_callbacks)
    unsubscribe(leads[0], reason="one-click")
    mail.outbox.clear()

    _send(_broadcast(leads, name="December"), django_capture_on_commit_callbacks)

    assert [m.to[0] for m in mail.outbox] == [leads[1].email]


def test_a_lead_unsubscribed_after_the_start_is_skipped_at_send_time(sender, django_capture_on_commit_callbacks):
    leads = _leads(2)
    campaign = _broadcast(leads)
    with django_capture_on_commit_callbacks(execute=False):  # started, but no batch has run yet
        sending.start(campaign=campaign)
    unsubscribe(leads[0], reason="link")

    sending.run_batch(campaign_id=campaign.pk, after_id=0)

    assert [m.to[0] for m in mail.outbox] == [leads[1].email]
    assert Send.objects.get(lead=leads[0]).status == Send.Status.SKIPPED


def test_starting_twice_or_running_a_batch_again_sends_nothing_more(sender, django_capture_on_commit_callbacks):
    campaign = _broadcast(_leads(3))
    _send(campaign, django_capture_on_commit_callbacks)

    assert sending.start(campaign=campaign) == 0
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    sending.run_batch(campaign_id=campaign.pk, after_id=0)

    assert len(mail.outbox) == 3 and Send.objects.count() == 3


def test_claims_of_a_dead_worker_are_sent_again_but_handed_ones_go_to_review(
    sender, django_capture_on_commit_callbacks
):
    campaign = _broadcast(_leads(3))
    with django_capture_on_commit_callbacks(execute=False):
        sending.start(campaign=campaign)
    first, second, third = Send.objects.order_by("pk")
    long_ago = timezone.now() - timedelta(hours=1)
    Send.objects.filter(pk=first.pk).update(status=Send.Status.CLAIMED, claim_token="dead", claimed_at=long_ago)
    Send.objects.filter(pk=second.pk).update(status=Send.Status.HANDING, claim_token="dead", claimed_at=long_ago)

    result = sending.recover()
    sending.run_batch(campaign_id=campaign.pk, after_id=0)

    assert (result["released"], result["review"]) == (1, 1)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, third.email])
    assert Send.objects.get(pk=second.pk).status == Send.Status.REVIEW


def test_a_slow_worker_whose_claim_was_taken_away_does_not_send(sender, django_capture_on_commit_callbacks):
    campaign = _broadcast(_leads(1))
    with django_capture_on_commit_callbacks(execute=False):
        sending.start(campaign=campaign)
    run = sending.Run(Campaign.objects.get(pk=campaign.pk))
    send = Send.objects.get()
    rows = sending.claim(send_ids=[send.pk], token="slow")
    Send.objects.filter(pk=send.pk).update(status=Send.Status.PENDING, claim_token="")  # the sweeper took it back

    assert rows and run._commit(send.pk, "slow", "<x@y>") is False
    assert Send.objects.get().status == Send.Status.PENDING


def test_temporary_errors_retry_later_and_permanent_ones_bounce_the_lead(sender, django_capture_on_commit_callbacks):
    temporary, permanent = _leads(2)
    campaign = _broadcast([temporary, permanent])
    with django_capture_on_commit_callbacks(execute=False):
        sending.start(campaign=campaign)
    rows = {
        row["lead_id"]: row
        for row in sending.claim(send_ids=list(Send.objects.values_list("pk", flat=True)), token="t")
    }
    for lead, kind in ((temporary, transports.TEMPORARY), (permanent, transports.PERMANENT)):
        row = rows[lead.pk]
        outcome = transports.Outcome(kind, "450 try later" if kind == transports.TEMPORARY else "550 no such user")
        sending.settle(send_id=row["id"], token="t", attempts=1, outcome=outcome, two_phase=True, lead_id=lead.pk)

    retry = Send.objects.get(lead=temporary)
    assert retry.status == Send.Status.PENDING and retry.retry_at > timezone.now()
    assert Send.objects.get(lead=permanent).status == Send.Status.FAILED
    permanent.refresh_from_db()
    assert permanent.email_status == Lead.EmailStatus.BOUNCED
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_BOUNCED, lead=permanent).count() == 1


def test_a_campaign_pauses_itself_when_most_messages_fail(sender, django_capture_on_commit_callbacks, monkeypatch):
    campaign = _broadcast(_leads(25))
    failing = transports.Outcome(transports.TEMPORARY, "421 service not available")
    monkeypatch.setattr(transports.BackendTransport, "send", lambda self, out, commit: failing)

    _send(campaign, django_capture_on_commit_callbacks)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED and "25" in campaign.paused_reason
    assert not mail.outbox


def test_paused_campaign_sends_nothing_until_resumed(sender, django_capture_on_commit_callbacks):
    campaign = _broadcast(_leads(2))
    with django_capture_on_commit_callbacks(execute=False):
        sending.start(campaign=campaign)
    assert sending.pause(campaign=campaign, reason="wrong link")
    sending.run_batch(campaign_id=campaign.pk, after_id=0)
    assert not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.resume(campaign=campaign)

    assert len(mail.outbox) == 2
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT


def test_only_due_scheduled_campaigns_start(sender, django_capture_on_commit_callbacks):
    leads = _leads(1)
    due, later = _broadcast(leads, name="due"), _broadcast(leads, name="later")
    sending.schedule(campaign=due, at=timezone.now() - timedelta(minutes=1))
    sending.schedule(campaign=later, at=timezone.now() + timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert sending.start_due() == 1

    assert Campaign.objects.get(pk=due.pk).status == Campaign.Status.SENT
    assert Campaign.objects.get(pk=later.pk).status == Campaign.Status.SCHEDULED


def test_a_campaign_without_sender_identity_or_audience_is_refused():
    campaign = make_campaign()
    with pytest.raises(sending.SendingError) as refused, translation.override("en"):
        sending.start(campaign=campaign)
    assert "list or segment" in str(refused.value) and "sender identity" in str(refused.value)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_the_rate_limit_grants_no_more_than_the_second_allows(settings, monkeypatch):
    settings.SEND_RATE_PER_SECOND, settings.SEND_RATE_PER_HOUR = 3, 5
    monkeypatch.setattr(throttle, "now", lambda: 1_800_000_000.2)

    assert throttle.take(10).count == 3
    later = throttle.take(10)
    assert later.count == 0 and 0 < later.wait <= 1
    monkeypatch.setattr(throttle, "now", lambda: 1_800_000_001.2)
    assert throttle.take(10).count == 2  # the hour's budget of 5 is now spent
    assert throttle.take(10).wait > 5


def test_deliver_sends_step_emails_without_a_campaign_once(sender):
    """The automation's door: sends with a source and no campaign go through the same claim and settle path."""
    from tests.factories import make_template

    leads = _leads(2)
    sends = [Send.objects.create(source=f"step:1:{n}", lead=lead, email=lead.email) for n, lead in enumerate(leads)]
    ids = [send.pk for send in sends]

    assert sending.deliver(send_ids=ids, template=make_template()) == (2, 0)
    assert sending.deliver(send_ids=ids, template=make_template()) == (0, 0)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(lead.email for lead in leads)
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL_SENT, campaign_id__isnull=True).count() == 2


def test_over_smtp_an_address_smtp_cannot_carry_fails_alone_and_the_batch_goes_on(
    sender, settings, django_capture_on_commit_callbacks
):
    """A full-width address goes out half-width; an internationalised one would need SMTPUTF8: it fails alone."""
    sink, controller = start_sink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
    full_width = make_lead("Ｓｕｚｕｋｉ＠ｂｅｔａ．ｅｘａｍｐｌｅ．ｊｐ", consent=True)
    legacy = make_lead("すずき@ベータ.example.jp", consent=True)
    try:
        assert _send(_broadcast([full_width, legacy, *_leads(2)]), django_capture_on_commit_callbacks) == 4
    finally:
        controller.stop()
    assert dict(sink.received) == {"suzuki@beta.example.jp": 1, "user0@example.com": 1, "user1@example.com": 1}
    assert Send.objects.get(lead=full_width).status == Send.Status.SENT
    failed = Send.objects.get(lead=legacy)
    assert failed.status == Send.Status.FAILED and "ASCII" in failed.error
