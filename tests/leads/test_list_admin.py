"""The list and segment admin: list actions on the lead list, the condition builder, the live count, query counts."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.models import Activity, CustomField, Lead, LeadList, ListMembership, Segment
from mautomation.roles import MARKETER, SALES
from tests.factories import make_activity, make_lead, make_user

pytestmark = pytest.mark.django_db

LEADS = "/admin/leads/lead/"
SEGMENTS = "/admin/leads/segment/"
LISTS = "/admin/leads/leadlist/"
COUNT = "/admin/leads/segment/count/"


def logged_in(user, **options) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **options)
    client.force_login(user)
    return client


@pytest.fixture
def marketer():
    return logged_in(make_user("marketer", role=MARKETER))


def count(client: Client, body, **extra):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(COUNT, raw, content_type="application/json", **extra)


def test_add_to_list_asks_for_the_list_then_adds_the_selection(marketer):
    a, b, _c = make_lead("a@x.jp"), make_lead("b@x.jp"), make_lead("c@x.jp")
    seminar = LeadList.objects.create(name="セミナー")
    chosen = {"action": "add_to_list_action", "_selected_action": [a.pk, b.pk]}
    page = marketer.post(LEADS, chosen)
    assert page.status_code == 200 and "2 leads selected." in page.content.decode()
    done = marketer.post(LEADS, {**chosen, "apply": "yes", "lead_list": seminar.pk}, follow=True)
    assert "2 leads added to セミナー." in done.content.decode()
    assert set(seminar.members.all()) == {a, b}
    assert set(ListMembership.objects.values_list("source", "added_by__username")) == {("admin", "marketer")}


def test_add_to_list_across_every_page_of_a_filtered_selection(marketer):
    for n in range(5):
        make_lead(f"u{n}@x.jp", stage="mql" if n < 3 else "lead")
    seminar = LeadList.objects.create(name="hot")
    body = {"action": "add_to_list_action", "_selected_action": [], "select_across": "1", "index": "0",
            "apply": "yes", "lead_list": seminar.pk}  # fmt: skip
    body["_selected_action"] = list(Lead.objects.values_list("pk", flat=True)[:1])
    marketer.post(LEADS + "?stage__exact=mql", body)
    assert seminar.members.count() == 3


def test_remove_from_list_and_the_list_filter_on_the_lead_list(marketer):
    a, b = make_lead("a@x.jp"), make_lead("b@x.jp")
    seminar = LeadList.objects.create(name="セミナー")
    ListMembership.objects.bulk_create([ListMembership(lead_list=seminar, lead=lead) for lead in (a, b)])
    listed = marketer.get(LEADS + f"?list={seminar.pk}")
    assert {lead.email for lead in listed.context["cl"].result_list} == {"a@x.jp", "b@x.jp"}
    body = {"action": "remove_from_list_action", "_selected_action": [a.pk], "apply": "yes", "lead_list": seminar.pk}
    assert "1 lead removed from セミナー." in marketer.post(LEADS, body, follow=True).content.decode()
    assert list(seminar.members.all()) == [b]


def test_sales_cannot_change_list_membership():
    sales = logged_in(make_user("sales", role=SALES))
    lead, seminar = make_lead("a@x.jp"), LeadList.objects.create(name="s")
    sales.post(LEADS, {"action": "add_to_list_action", "_selected_action": [lead.pk], "apply": "yes",
                       "lead_list": seminar.pk})  # fmt: skip
    assert ListMembership.objects.count() == 0
    assert count(sales, {"match": "all", "conditions": []}).status_code == 200  # reading segments is allowed


def test_the_segment_filter_lists_its_members_and_an_unknown_one_lists_nobody(marketer):
    make_lead("hot@x.jp", stage="mql"), make_lead("cold@x.jp")
    hot = Segment.objects.create(name="hot", conditions=[{"field": "stage", "op": "in", "value": ["mql"]}])
    assert [lead.email for lead in marketer.get(LEADS + f"?segment={hot.pk}").context["cl"].result_list] == ["hot@x.jp"]
    assert list(marketer.get(LEADS + "?segment=9999").context["cl"].result_list) == []
    assert list(marketer.get(LEADS + "?segment=x'--").context["cl"].result_list) == []


def test_the_live_count_counts_an_unsaved_definition(marketer):
    make_lead("a@x.jp", title="営業部長"), make_lead("b@x.jp", title="課長")
    body = {"match": "all", "conditions": [{"field": "title", "op": "contains", "value": "部長"}]}
    assert count(marketer, body).json() == {"count": 1}


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"match": "all", "conditions": [{"field": "nope", "op": "is", "value": 1}]}, 400, "unknown field “nope”"),
        ("{not json", 400, "The body is not JSON."),
        ("[" * 100_000 + "]" * 100_000, 400, "The body is not JSON."),
        ({"match": "all", "conditions": [{"field": "title", "op": "is", "value": "x"}] * 10_000}, 413, "too large"),
        ({"match": "all", "conditions": [{"field": "title", "op": "is", "value": "x"}] * 2_000}, 400, "at most 100"),
        (json.dumps({"match": "all", "conditions": [{"field": "title", "op": "is", "value": "'; DROP TABLE x;--"}]}),
         200, None),
    ],
)  # fmt: skip
def test_the_live_count_answers_bad_definitions_with_the_reason_never_a_500(marketer, body, status, message):
    response = count(marketer, body)
    assert response.status_code == status
    if message:
        assert message in " ".join(response.json()["errors"])
    else:
        assert response.json() == {"count": 0}


def test_the_live_count_is_for_staff_only_and_post_only(marketer):
    assert Client().post(COUNT, "{}", content_type="application/json").status_code == 302  # to the login page
    assert marketer.get(COUNT).status_code == 405


def test_the_live_count_needs_the_csrf_token():
    client = logged_in(make_user("marketer", role=MARKETER), enforce_csrf_checks=True)
    assert count(client, {"match": "all", "conditions": []}).status_code == 403


def segment_form(**changes) -> dict:
    return {"name": "部長", "description": "", "match": "all", "conditions": "[]", **changes}


def test_saving_a_segment_validates_and_normalises_its_conditions(marketer):
    bad = [{"field": "score", "op": "gt", "value": "ten"}]
    page = marketer.post(SEGMENTS + "add/", segment_form(conditions=json.dumps(bad)))
    assert page.status_code == 200 and "Condition 1 (Score): the value must be a number." in page.content.decode()
    good = [{"field": "email_domain", "op": "is", "value": "@Example.JP"}]
    assert marketer.post(SEGMENTS + "add/", segment_form(conditions=json.dumps(good))).status_code == 302
    assert Segment.objects.get().conditions == [{"field": "email_domain", "op": "is", "value": "example.jp"}]


def test_the_segment_page_has_the_builder_its_config_and_the_member_count(marketer):
    CustomField.objects.create(key="plan", label="<b>Plan</b>", kind="choice", choices=["free", "pro"])
    make_lead("a@x.jp", stage="mql")
    segment = Segment.objects.create(name="hot", conditions=[{"field": "stage", "op": "in", "value": ["mql"]}])
    html = marketer.get(SEGMENTS + f"{segment.pk}/change/").content.decode()
    assert "leads/segment_builder.js" in html and 'class="sb-builder"' in html
    config = json.loads(html.split('id="id_conditions_config" type="application/json">')[1].split("</script>")[0])
    fields = {field["name"]: field for field in config["fields"]}
    assert fields["custom.plan"]["choices"] == [["free", "free"], ["pro", "pro"]]
    assert (
        fields["custom.plan"]["label"] == "<b>Plan</b>"
        and "<b>Plan</b>" not in html.replace('"<b>Plan</b>"', "").split("</script>", 1)[1]
    )
    assert config["countUrl"] == COUNT and fields["clicked"]["days"] is True
    assert f'href="/admin/leads/lead/?segment={segment.pk}">1</a>' in html


def test_the_list_and_segment_changelists_take_the_same_queries_for_3_or_30_rows(marketer):
    def grow(n: int) -> None:
        for index in range(n):
            seminar = LeadList.objects.create(name=f"list {index}")
            ListMembership.objects.create(lead_list=seminar, lead=make_lead(f"u{LeadList.objects.count()}@x.jp"))
            Segment.objects.create(name=f"s{index}", conditions=[{"field": "tag", "op": "has", "value": 1}])

    grow(3)
    sizes = {}
    for page in (LISTS, SEGMENTS):
        with CaptureQueriesContext(connection) as queries:
            assert marketer.get(page).status_code == 200
        sizes[page] = len(queries)
    grow(27)
    for page in (LISTS, SEGMENTS):
        with CaptureQueriesContext(connection) as queries:
            response = marketer.get(page)
        assert len(queries) == sizes[page] and len(response.context["cl"].result_list) == 30


def test_list_names_are_escaped_everywhere(marketer):
    LeadList.objects.create(name="<script>alert(1)</script>")
    for page in (LISTS, LEADS):
        html = marketer.get(page).content.decode()
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_behaviour_segment_members_list(marketer):
    clicked = make_lead("clicked@x.jp")
    make_activity(clicked, Activity.Kind.EMAIL_CLICKED, campaign_id=5)
    make_lead("quiet@x.jp")
    segment = Segment.objects.create(name="c", conditions=[{"field": "clicked", "op": "did", "value": 5}])
    assert [lead.email for lead in marketer.get(LEADS + f"?segment={segment.pk}").context["cl"].result_list] == [
        "clicked@x.jp"
    ]


def test_the_builder_speaks_japanese():
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(make_user("marketer", role=MARKETER))
    html = client.get(SEGMENTS + "add/").content.decode()
    config = json.loads(html.split('id="id_conditions_config" type="application/json">')[1].split("</script>")[0])
    assert config["text"]["addCondition"] == "条件を追加"
    labels = {field["name"]: field["label"] for field in config["fields"]}
    assert labels["clicked"] == "キャンペーンのメール内リンクをクリック" and labels["stage"] == "ライフサイクルステージ"
    answer = count(client, {"match": "all", "conditions": [{"field": "score", "op": "gt", "value": "x"}]}).json()
    assert answer == {"errors": ["条件 1（スコア）：値は数値にしてください。"]}
