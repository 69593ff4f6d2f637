"""Segments compiled to SQL: each condition kind, AND/OR and groups, and audience() of lists and segments."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.conditions import clean_definition
from leads.models import Activity, Company, CustomField, Lead, LeadList, ListMembership, Segment, Tag
from leads.segments import audience, count_definition, segment_members, segment_q
from tests.factories import make_activity, make_lead

pytestmark = pytest.mark.django_db


def matching(*conditions: dict, match: str = "all") -> set[str]:
    """Emails of the leads matching the definition, validated the way the admin and API do."""
    custom = {field.key: field for field in CustomField.objects.all()}
    definition = clean_definition({"match": match, "conditions": list(conditions)}, custom_fields=custom)
    return set(Lead.objects.filter(segment_q(definition)).values_list("email", flat=True))


def cond(field: str, op: str, value=None, **extra) -> dict:
    return {"field": field, "op": op, "value": value, **extra}


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def test_stage_in_and_not_in():
    make_lead("a@x.jp", stage="lead"), make_lead("b@x.jp", stage="mql"), make_lead("c@x.jp", stage="customer")
    assert matching(cond("stage", "in", ["lead", "mql"])) == {"a@x.jp", "b@x.jp"}
    assert matching(cond("stage", "not_in", ["lead", "mql"])) == {"c@x.jp"}


def test_title_contains_is_case_insensitive_and_its_negation_keeps_empty_titles():
    make_lead("a@x.jp", title="営業部長"), make_lead("b@x.jp", title="Sales Manager"), make_lead("c@x.jp")
    assert matching(cond("title", "contains", "部長")) == {"a@x.jp"}
    assert matching(cond("title", "contains", "manager")) == {"b@x.jp"}
    assert matching(cond("title", "not_contains", "部長")) == {"b@x.jp", "c@x.jp"}
    assert matching(cond("title", "is_empty")) == {"c@x.jp"}


def test_like_wildcards_and_sql_in_values_are_plain_data():
    make_lead("a@x.jp", department="100% 営業"), make_lead("b@x.jp", department="1000 営業")
    assert matching(cond("department", "contains", "100%")) == {"a@x.jp"}
    assert matching(cond("department", "contains", "_")) == set()
    assert matching(cond("department", "is", "' OR 1=1 --")) == set()
    assert Lead.objects.count() == 2


def test_email_domain_matches_the_whole_domain_only():
    make_lead("a@example.co.jp"), make_lead("b@sub.example.co.jp"), make_lead("c@other.jp")
    assert matching(cond("email_domain", "is", "@Example.co.jp")) == {"a@example.co.jp"}
    assert matching(cond("email_domain", "is_not", "example.co.jp")) == {"b@sub.example.co.jp", "c@other.jp"}


def test_created_and_last_activity_within_and_older_than_and_never():
    make_lead("new@x.jp", last_activity_at=ago(days=1))
    make_lead("old@x.jp", created_at=ago(days=100), last_activity_at=ago(days=60))
    make_lead("idle@x.jp", created_at=ago(days=100))
    assert matching(cond("created_at", "within_days", 30)) == {"new@x.jp"}
    assert matching(cond("last_activity_at", "older_than_days", 30)) == {"old@x.jp"}
    assert matching(cond("last_activity_at", "is_empty")) == {"idle@x.jp"}


def test_email_status_consent_score_and_fit_score():
    make_lead("a@x.jp", consent=True, score=50, fit_score=10)
    make_lead("b@x.jp", email_status="bounced", score=10, fit_score=30)
    assert matching(cond("consent", "is", True)) == {"a@x.jp"}
    assert matching(cond("email_status", "in", ["bounced", "complained"])) == {"b@x.jp"}
    assert matching(cond("score", "gte", 50)) == {"a@x.jp"}
    assert matching(cond("fit_score", "gt", 10), cond("score", "lt", 50)) == {"b@x.jp"}
    assert matching(cond("score", "ne", 50)) == {"b@x.jp"}


def test_company_fields_and_leads_without_a_company():
    big = Company.objects.create(name="大手製造株式会社", industry="製造業", employees=5000)
    small = Company.objects.create(name="小さなIT", industry="IT", employees=20)
    make_lead("a@x.jp", company=big), make_lead("b@x.jp", company=small), make_lead("c@x.jp")
    assert matching(cond("company.industry", "is", "製造業")) == {"a@x.jp"}
    assert matching(cond("company.employees", "gte", 100)) == {"a@x.jp"}
    assert matching(cond("company.employees", "gte", 10), cond("company.employees", "lt", 100)) == {"b@x.jp"}
    assert matching(cond("company.name", "not_contains", "大手")) == {"b@x.jp", "c@x.jp"}


def test_custom_text_number_choice_and_date_fields():
    CustomField.objects.create(key="plan", label="Plan", kind="choice", choices=["free", "pro"])
    CustomField.objects.create(key="seats", label="Seats", kind="number")
    CustomField.objects.create(key="memo", label="Memo", kind="text")
    CustomField.objects.create(key="met", label="Met on", kind="date")
    recent = (timezone.now() - timedelta(days=3)).date().isoformat()
    make_lead("a@x.jp", custom={"plan": "pro", "seats": 120, "memo": "展示会で名刺交換", "met": recent})
    make_lead("b@x.jp", custom={"plan": "free", "seats": 5, "memo": "", "met": "2020-01-01"})
    make_lead("c@x.jp", custom={"seats": ""})
    assert matching(cond("custom.plan", "in", ["pro"])) == {"a@x.jp"}
    assert matching(cond("custom.seats", "gt", 10)) == {"a@x.jp"}
    assert matching(cond("custom.seats", "lt", 10)) == {"b@x.jp"}
    assert matching(cond("custom.seats", "ne", 5)) == {"a@x.jp", "c@x.jp"}
    assert matching(cond("custom.memo", "contains", "展示会")) == {"a@x.jp"}
    assert matching(cond("custom.memo", "not_contains", "展示会")) == {"b@x.jp", "c@x.jp"}
    assert matching(cond("custom.memo", "is_empty")) == {"b@x.jp", "c@x.jp"}
    assert matching(cond("custom.met", "within_days", 30)) == {"a@x.jp"}
    assert matching(cond("custom.met", "older_than_days", 30)) == {"b@x.jp"}


def test_tags_has_and_has_not():
    tag = Tag.objects.create(name="展示会2026")
    make_lead("a@x.jp").tags.add(tag), make_lead("b@x.jp")
    assert matching(cond("tag", "has", tag.pk)) == {"a@x.jp"}
    assert matching(cond("tag", "has_not", tag.pk)) == {"b@x.jp"}


def test_list_membership():
    members = LeadList.objects.create(name="セミナー参加者")
    ListMembership.objects.create(lead_list=members, lead=make_lead("a@x.jp")), make_lead("b@x.jp")
    assert matching(cond("list", "in", members.pk)) == {"a@x.jp"}
    assert matching(cond("list", "not_in", members.pk)) == {"b@x.jp"}


def test_opened_and_clicked_campaign_ignore_machine_opens_and_scanner_clicks():
    human, machine, other = make_lead("human@x.jp"), make_lead("machine@x.jp"), make_lead("other@x.jp")
    make_activity(human, Activity.Kind.EMAIL_OPENED, campaign_id=7)
    make_activity(machine, Activity.Kind.EMAIL_OPENED, campaign_id=7, data={"machine": True})
    make_activity(machine, Activity.Kind.EMAIL_CLICKED, campaign_id=7, data={"machine": "true"})
    make_activity(other, Activity.Kind.EMAIL_CLICKED, campaign_id=8, data={"machine": False})
    assert matching(cond("opened", "did", 7)) == {"human@x.jp"}
    assert matching(cond("clicked", "did", 7)) == set()
    assert matching(cond("clicked", "did", None)) == {"other@x.jp"}
    assert matching(cond("opened", "did_not", 7)) == {"machine@x.jp", "other@x.jp"}


def test_clicked_in_the_last_n_days():
    recent, old = make_lead("recent@x.jp"), make_lead("old@x.jp")
    make_activity(recent, Activity.Kind.EMAIL_CLICKED, campaign_id=3, occurred_at=ago(days=2))
    make_activity(old, Activity.Kind.EMAIL_CLICKED, campaign_id=3, occurred_at=ago(days=40))
    assert matching(cond("clicked", "did", 3, days=30)) == {"recent@x.jp"}
    assert matching(cond("clicked", "did", 3)) == {"recent@x.jp", "old@x.jp"}


def test_visited_url_prefix_and_contains_in_the_last_n_days():
    a, b = make_lead("a@x.jp"), make_lead("b@x.jp")
    make_activity(a, url="https://example.jp/price/plan", occurred_at=ago(days=1))
    make_activity(b, url="https://example.jp/blog/price", occurred_at=ago(days=20))
    assert matching(cond("visited", "prefix", "https://example.jp/price")) == {"a@x.jp"}
    assert matching(cond("visited", "contains", "price", days=7)) == {"a@x.jp"}
    assert matching(cond("visited", "not_contains", "blog")) == {"a@x.jp"}
    assert matching(cond("visited", "contains", "%")) == set()


def test_submitted_form_any_time_or_recently():
    a, b = make_lead("a@x.jp"), make_lead("b@x.jp")
    make_activity(a, Activity.Kind.FORM_SUBMIT, form_id=4, occurred_at=ago(days=3))
    make_activity(b, Activity.Kind.FORM_SUBMIT, form_id=4, occurred_at=ago(days=300))
    assert matching(cond("submitted_form", "did", 4)) == {"a@x.jp", "b@x.jp"}
    assert matching(cond("submitted_form", "did", 4, days=30)) == {"a@x.jp"}
    assert matching(cond("submitted_form", "did_not", 4, days=30)) == {"b@x.jp"}


def send(lead: Lead, campaign: int, days_ago: int, *, opened: bool = False, machine: bool = False) -> None:
    make_activity(lead, Activity.Kind.EMAIL_SENT, campaign_id=campaign, occurred_at=ago(days=days_ago))
    if opened:
        data = {"machine": True} if machine else {}
        make_activity(lead, Activity.Kind.EMAIL_OPENED, campaign_id=campaign, occurred_at=ago(days=days_ago), data=data)


def test_not_opened_last_n_emails_needs_n_sends_and_no_human_open_among_them():
    cold, warm, new, proxied = (make_lead(email) for email in ("cold@x.jp", "warm@x.jp", "new@x.jp", "p@x.jp"))
    send(cold, 1, 30, opened=True), send(cold, 2, 20), send(cold, 3, 10), send(cold, 4, 5)
    send(warm, 1, 30), send(warm, 2, 20), send(warm, 3, 10, opened=True)
    send(new, 4, 5)
    send(proxied, 2, 20, opened=True, machine=True), send(proxied, 3, 10, opened=True, machine=True)
    assert matching(cond("not_opened_last", "last", 3)) == {"cold@x.jp"}
    assert matching(cond("not_opened_last", "last", 2)) == {"cold@x.jp", "p@x.jp"}
    assert matching(cond("not_opened_last", "last", 4)) == set()


def test_match_any_and_a_nested_group():
    make_lead("a@x.jp", stage="mql", title="部長"), make_lead("b@x.jp", stage="lead", score=80)
    make_lead("c@x.jp", stage="lead", title="部長", score=10)
    either = {"match": "any", "conditions": [cond("title", "contains", "部長"), cond("score", "gte", 50)]}
    assert matching(cond("stage", "in", ["lead"]), either) == {"b@x.jp", "c@x.jp"}
    assert matching(cond("stage", "in", ["mql"]), cond("score", "gte", 50), match="any") == {"a@x.jp", "b@x.jp"}


def test_a_segment_without_conditions_matches_nobody():
    make_lead("a@x.jp")
    assert matching() == set()


def test_a_deleted_custom_field_matches_nobody_rather_than_failing():
    field = CustomField.objects.create(key="plan", label="Plan", kind="text")
    make_lead("a@x.jp", custom={"plan": "pro"})
    segment = Segment.objects.create(name="s", conditions=[cond("custom.plan", "is", "pro")])
    assert segment_members(segment).count() == 1
    field.delete()
    assert segment_members(segment).count() == 0


def test_the_segment_count_is_one_query():
    tag = Tag.objects.create(name="t")
    definition = {"match": "all", "conditions": [cond("stage", "in", ["lead"]), cond("tag", "has", tag.pk),
                                                 cond("clicked", "did", 1, days=30)]}  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        assert count_definition(definition) == 0
    assert len(queries) == 1


def make_list(name: str, *leads: Lead, kind: str = "static") -> LeadList:
    lead_list = LeadList.objects.create(name=name, kind=kind)
    ListMembership.objects.bulk_create([ListMembership(lead_list=lead_list, lead=lead) for lead in leads])
    return lead_list


def test_audience_is_the_distinct_union_of_lists_and_segments_minus_suppression_lists():
    a, b, c, d = (make_lead(f"{name}@x.jp", stage="mql" if name in "bc" else "lead") for name in "abcd")
    first, second = make_list("first", a, b), make_list("second", b, d)
    suppressed = make_list("suppressed", d, kind="suppression")
    hot = Segment.objects.create(name="hot", conditions=[cond("stage", "in", ["mql"])])
    with CaptureQueriesContext(connection) as queries:
        emails = list(
            audience(lists=[first.pk, second.pk], segments=[hot.pk], exclude_lists=[suppressed.pk]).values_list(
                "email", flat=True
            )
        )
    assert sorted(emails) == ["a@x.jp", "b@x.jp", "c@x.jp"]
    assert len(queries) == 2  # the segments' definitions, then the audience


def test_audience_of_nothing_is_empty_and_does_not_filter_on_mailability():
    lead = make_lead("bounced@x.jp", email_status="bounced")
    assert audience().count() == 0
    assert list(audience(lists=[make_list("l", lead).pk])) == [lead]


def test_merging_leads_keeps_one_membership_per_list():
    from leads.merging import merge_leads

    winner, loser = make_lead("w@x.jp"), make_lead("l@x.jp")
    both, only_loser = make_list("both", winner, loser), make_list("only", loser)
    merge_leads(winner=winner, losers=[loser], user=None)
    assert set(winner.lists.all()) == {both, only_loser}
    assert ListMembership.objects.count() == 2


def test_audience_of_two_segments_pages_by_id_without_duplicates():
    leads = [make_lead(f"{n}@x.jp", stage="mql" if n % 2 else "lead", score=n) for n in range(6)]
    hot = Segment.objects.create(name="hot", conditions=[cond("stage", "in", ["mql"])])
    high = Segment.objects.create(name="high", conditions=[cond("score", "gte", 3)])
    recipients = audience(segments=[hot.pk, high.pk])
    first = list(recipients.order_by("pk")[:3])
    rest = list(recipients.filter(pk__gt=first[-1].pk).order_by("pk")[:10])
    assert first + rest == [leads[1], leads[3], leads[4], leads[5]]
    assert recipients.count() == 4
