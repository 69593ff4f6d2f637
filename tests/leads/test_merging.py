"""Merging duplicate leads: everything linked moves to the kept lead, opt-outs survive, losers are recorded."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.merging import lead_foreign_keys, merge_leads
from leads.models import Activity, Consent, Lead, MergeRecord, Tag, VisitorLink
from mautomation.roles import MARKETER
from tests.factories import make_activity, make_lead, make_user

pytestmark = pytest.mark.django_db


def tag_names(lead: Lead) -> set[str]:
    return set(lead.tags.values_list("name", flat=True))


def tagged(lead: Lead, *names: str) -> Lead:
    lead.tags.add(*(Tag.objects.get_or_create(name=name)[0] for name in names))
    return lead


def test_merge_moves_activities_consents_and_visitor_links_to_the_winner():
    winner, loser = make_lead("a@example.com"), make_lead("b@example.com")
    make_activity(winner)
    make_activity(loser, url="/pricing/")
    make_activity(loser, kind=Activity.Kind.FORM_SUBMIT)
    Consent.objects.create(lead=loser, method=Consent.Method.FORM, wording="送信に同意します")
    VisitorLink.objects.create(visitor_id="v-loser", lead=loser)

    merge_leads(winner=winner, losers=[loser], user=None)

    assert winner.activities.count() == 3
    assert winner.consents.get().wording == "送信に同意します"
    assert VisitorLink.objects.get(visitor_id="v-loser").lead == winner


def test_merge_unites_tags_without_duplicating_shared_ones():
    winner = tagged(make_lead("a@example.com"), "seminar", "vip")
    first = tagged(make_lead("b@example.com"), "seminar", "whitepaper")
    second = tagged(make_lead("c@example.com"), "whitepaper", "trial")

    merge_leads(winner=winner, losers=[first, second], user=None)

    assert tag_names(winner) == {"seminar", "vip", "whitepaper", "trial"}
    assert Lead.tags.through.objects.filter(lead=winner).count() == 4


def test_losers_are_deleted_and_the_winner_keeps_its_email():
    winner, loser = make_lead("a@example.com"), make_lead("b@example.com")
    merge_leads(winner=winner, losers=[loser], user=None)
    assert list(Lead.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_merge_fills_only_the_empty_fields_of_the_winner():
    winner = make_lead("a@example.com", last_name="山田", title="")
    loser = make_lead("b@example.com", last_name="山本", first_name="太郎", title="部長", phone="03-1234-5678")
    merge_leads(winner=winner, losers=[loser], user=None)
    winner.refresh_from_db()
    assert (winner.last_name, winner.first_name, winner.title) == ("山田", "太郎", "部長")
    assert winner.phone_key == "0312345678"


def test_the_first_loser_with_a_value_fills_an_empty_field():
    winner = make_lead("a@example.com")
    merge_leads(
        winner=winner, losers=[make_lead("b@example.com"), make_lead("c@example.com", department="営業部")], user=None
    )
    winner.refresh_from_db()
    assert winner.department == "営業部"


def test_custom_values_are_merged_and_the_winners_values_win():
    winner = make_lead("a@example.com", custom={"industry": "IT", "size": ""})
    loser = make_lead("b@example.com", custom={"industry": "製造", "size": "100"})
    merge_leads(winner=winner, losers=[loser], user=None)
    winner.refresh_from_db()
    assert winner.custom == {"industry": "IT", "size": "100"}


def test_an_unsubscribed_loser_makes_the_winner_unsubscribed():
    winner = make_lead("a@example.com", consent=True)
    loser = make_lead("b@example.com", email_status=Lead.EmailStatus.UNSUBSCRIBED)
    merge_leads(winner=winner, losers=[loser], user=None)
    winner.refresh_from_db()
    assert winner.email_status == Lead.EmailStatus.UNSUBSCRIBED
    assert not winner.mailable


def test_the_worst_email_status_of_all_leads_is_kept():
    winner = make_lead("a@example.com", email_status=Lead.EmailStatus.BOUNCED)
    losers = [
        make_lead("b@example.com", email_status=Lead.EmailStatus.COMPLAINED),
        make_lead("c@example.com", email_status=Lead.EmailStatus.UNSUBSCRIBED),
    ]
    merge_leads(winner=winner, losers=losers, user=None)
    winner.refresh_from_db()
    assert winner.email_status == Lead.EmailStatus.COMPLAINED


def test_consent_of_any_lead_is_kept():
    winner = make_lead("a@example.com", consent=False)
    merge_leads(winner=winner, losers=[make_lead("b@example.com", consent=True)], user=None)
    winner.refresh_from_db()
    assert winner.consent is True


@pytest.mark.parametrize(
    ("winner_stage", "loser_stage", "expected"),
    [
        (Lead.Stage.LEAD, Lead.Stage.SQL, Lead.Stage.SQL),
        (Lead.Stage.CUSTOMER, Lead.Stage.MQL, Lead.Stage.CUSTOMER),
        (Lead.Stage.SUBSCRIBER, Lead.Stage.LEAD, Lead.Stage.LEAD),
    ],
)
def test_the_most_advanced_lifecycle_stage_is_kept(winner_stage, loser_stage, expected):
    winner = make_lead("a@example.com", stage=winner_stage)
    merge_leads(winner=winner, losers=[make_lead("b@example.com", stage=loser_stage)], user=None)
    winner.refresh_from_db()
    assert winner.stage == expected


def test_dates_span_all_leads_and_first_touch_follows_the_earliest():
    now = timezone.now()
    winner = make_lead("a@example.com", created_at=now - timedelta(days=1), last_activity_at=now - timedelta(days=1))
    loser = make_lead(
        "b@example.com",
        created_at=now - timedelta(days=30),
        last_activity_at=now,
        first_touch={"utm_source": "seminar"},
    )
    merge_leads(winner=winner, losers=[loser], user=None)
    winner.refresh_from_db()
    assert winner.created_at == now - timedelta(days=30)
    assert winner.last_activity_at == now
    assert winner.first_touch == {"utm_source": "seminar"}


def test_score_after_a_merge_is_the_sum_of_the_moved_ledger():
    """A once-per-lead rule both leads triggered counts once for the merged person."""
    from scoring.models import ScoringRule
    from tests.scoring.helpers import event

    ScoringRule.objects.create(name="pricing", event_kind="page_view", points=10, frequency="once")
    ScoringRule.objects.create(name="view", event_kind="page_view", points=1)
    winner, loser = make_lead("a@example.com"), make_lead("b@example.com")
    for lead in (winner, loser):
        event(lead, url="/pricing/")
    merge_leads(winner=winner, losers=[loser], user=None)
    winner.refresh_from_db()
    assert winner.score == 12  # pricing once (10) + two views (1 + 1); the loser's duplicate "once" row dropped
    assert winner.score == sum(winner.score_entries.values_list("points", flat=True))


def test_a_merge_record_keeps_the_losers_data_who_merged_and_when():
    marketer = make_user("marketer", role=MARKETER)
    winner = make_lead("a@example.com")
    loser = tagged(make_lead("b@example.com", last_name="山本", custom={"industry": "IT"}), "vip")
    before = timezone.now()

    [record] = merge_leads(winner=winner, losers=[loser], user=marketer)

    record = MergeRecord.objects.get(pk=record.pk)
    assert (record.winner, record.loser_email, record.merged_by) == (winner, "b@example.com", marketer)
    assert record.merged_at >= before
    assert record.loser_data["last_name"] == "山本"
    assert record.loser_data["custom"] == {"industry": "IT"}
    assert record.loser_data["tags"] == ["vip"]
    assert isinstance(record.loser_data["created_at"], str)


def test_a_losers_own_merge_history_moves_to_the_winner():
    winner, loser, older = make_lead("a@example.com"), make_lead("b@example.com"), make_lead("c@example.com")
    merge_leads(winner=loser, losers=[older], user=None)
    merge_leads(winner=winner, losers=[loser], user=None)
    assert set(winner.merges.values_list("loser_email", flat=True)) == {"b@example.com", "c@example.com"}


def test_merging_a_lead_into_itself_is_refused():
    lead = make_lead()
    with pytest.raises(ValueError, match="into itself"):
        merge_leads(winner=lead, losers=[lead], user=None)


def test_merging_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one lead"):
        merge_leads(winner=make_lead(), losers=[], user=None)


def test_merging_a_deleted_lead_is_refused():
    winner, loser = make_lead("a@example.com"), make_lead("b@example.com")
    Lead.objects.filter(pk=loser.pk).delete()
    with pytest.raises(ValueError, match="no longer exists"):
        merge_leads(winner=winner, losers=[loser], user=None)


def test_a_failing_merge_changes_nothing(monkeypatch):
    winner, loser = make_lead("a@example.com"), make_lead("b@example.com", title="部長")
    make_activity(loser)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(MergeRecord.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError):
        merge_leads(winner=winner, losers=[loser], user=None)
    assert Lead.objects.get(pk=winner.pk).title == ""
    assert Activity.objects.get().lead_id == loser.pk


def test_every_foreign_key_to_lead_in_any_app_is_moved():
    """Tables other apps add later (scores, lists, enrollments) are found without naming them here."""
    pointing_at_lead = {
        field
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Lead
    }
    assert set(lead_foreign_keys()) == pointing_at_lead
    assert Lead.tags.through._meta.get_field("lead") in pointing_at_lead


def test_merge_queries_do_not_grow_with_the_history_moved():
    def queries_to_merge(activities: int, suffix: str) -> int:
        winner, loser = make_lead(f"a{suffix}@example.com"), make_lead(f"b{suffix}@example.com")
        Activity.objects.bulk_create([Activity(lead=loser, kind=Activity.Kind.PAGE_VIEW) for _ in range(activities)])
        with CaptureQueriesContext(connection) as context:
            merge_leads(winner=winner, losers=[loser], user=None)
        assert winner.activities.count() == activities
        return len(context.captured_queries)

    assert queries_to_merge(1, "1") == queries_to_merge(200, "2")
