"""The report pages: the seed's numbers on screen in both languages, roles, filters, CSV, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mautomation.roles import MARKETER, SALES
from tests.factories import make_user
from tests.reports.helpers import T0, bulk_events, campaign, leads, seed_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client):
    client.force_login(make_user("mika", role=MARKETER))
    return client


def rate_cells(html: str) -> list[str]:
    """The shown rate of each metric row, in order: delivery, open, click, CVR."""
    import re

    return re.findall(r'<tr id="rate-\w+"><th scope="row">[^<]*</th><td class="num">([^<]*)</td>', html)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_seed_example_shows_the_seeds_rates(marketer, language):
    mail = campaign(status="sent", started_at=T0)
    seed_example(mail.pk)
    page = marketer.get(f"/admin/reports/campaigns/{mail.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    assert rate_cells(page.content.decode()) == ["98.0%", "20.0%", "10.0%", "1.0%"]
    on_clicks = marketer.get(f"/admin/reports/campaigns/{mail.pk}/?cvr=clicks", HTTP_ACCEPT_LANGUAGE=language)
    assert rate_cells(on_clicks.content.decode())[3] == "10.0%"


def test_rates_show_the_seminar_reference_and_the_comparison(marketer):
    mail = campaign(status="sent", started_at=T0)
    seed_example(mail.pk)
    html = marketer.get(f"/admin/reports/campaigns/{mail.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "6.0–8.0%" in html and '<td class="above">above</td>' in html
    assert "2.0–3.0%" in html and '<td class="below">below</td>' in html


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ja", ["MA 導入準備チェック", "十分なリード", "5102"]), ("en", ["MA readiness check", "Enough leads", "5102"])],
)
def test_readiness_check_and_planner_render_in_both_languages(marketer, language, expected):
    readiness = marketer.get("/admin/reports/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    planner = marketer.get("/admin/reports/planner/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for text in expected[:2]:
        assert text in readiness
    assert expected[2] in readiness and expected[2] in planner
    assert 'id="plan-verdict" class="fail"' in planner  # no mailable leads yet


def test_planner_answers_other_targets_and_refuses_bad_rates(marketer):
    page = marketer.get("/admin/reports/planner/?conversions=20&delivery=98&open=20&click=10&cvr=10&cvr_basis=clicks")
    assert "10204" in page.content.decode()
    bad = marketer.get("/admin/reports/planner/?conversions=10&delivery=0&open=20&click=10&cvr=10&cvr_basis=clicks",
                       HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert bad.status_code == 200 and "greater than or equal to 0.1" in bad.content.decode()


def test_the_home_page_of_a_marketer_is_the_readiness_check(marketer):
    assert marketer.get("/").headers["Location"] == "/admin/reports/"


def test_anonymous_users_are_sent_to_the_login_and_the_home_goes_to_the_admin(client):
    assert client.get("/").headers["Location"] == "/admin/"
    assert "/admin/login/" in client.get("/admin/reports/kpis/").headers["Location"]


@pytest.mark.parametrize(("role", "status"), [(MARKETER, 200), (SALES, 200), (None, 403)])
@pytest.mark.parametrize("url", ["/admin/reports/", "/admin/reports/campaigns/", "/admin/reports/kpis/",
                                 "/admin/reports/planner/"])  # fmt: skip
def test_who_may_read_reports(client, role, status, url):
    client.force_login(make_user("someone", role=role))
    assert client.get(url).status_code == status


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/admin/reports/campaigns/?since=2026-13-01", "Enter a valid date."),
        ("/admin/reports/campaigns/?since=2026-05-01&until=2026-04-01", "The end is before the start."),
        ("/admin/reports/campaigns/?since=1066-10-14", "Give a date between 2000 and 2100."),
        ("/admin/reports/kpis/?start=2001-01&end=2026-01", "At most 36 months at once."),
        ("/admin/reports/kpis/?start=2026/01", "Give a month as YYYY-MM"),
        ("/admin/reports/campaigns/?window_days=999", "less than or equal to 30"),
    ],
)
def test_bad_filters_are_a_clear_400(marketer, url, message):
    page = marketer.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and message in page.content.decode()


def test_unknown_denominator_on_a_page_is_a_clear_400(marketer):
    mail = campaign()
    page = marketer.get(f"/admin/reports/campaigns/{mail.pk}/?open=clicks", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "Select a valid choice" in page.content.decode()


def test_a_campaign_that_does_not_exist_is_a_404(marketer):
    assert marketer.get("/admin/reports/campaigns/987654/").status_code == 404
    assert marketer.get("/admin/reports/templates/987654/").status_code == 404


def test_the_campaign_list_uses_the_same_queries_for_one_campaign_or_many(marketer):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert marketer.get("/admin/reports/campaigns/").status_code == 200
        return len(captured)

    people = leads(3)
    first = campaign("a", status="sent", started_at=T0)
    bulk_events([(people[0], "email_sent", first.pk, T0, {})])
    one = queries()
    for name in "bcdef":
        other = campaign(name, status="sent", started_at=T0)
        bulk_events([(p, "email_opened", other.pk, T0, {}) for p in people])
    assert queries() == one


def test_every_table_exports_as_csv_with_formulas_neutralised(marketer):
    mail = campaign('=HYPERLINK("http://evil")', status="sent", started_at=T0)
    seed_example(mail.pk)
    listing = marketer.get("/admin/reports/campaigns/?format=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in listing and "\n=HYPERLINK" not in listing
    detail = marketer.get(f"/admin/reports/campaigns/{mail.pk}/?format=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert detail.headers["Content-Type"].startswith("text/csv") and "98.0%" in detail.content.decode("utf-8-sig")
    for url in [
        "/admin/reports/?format=csv",
        "/admin/reports/planner/?format=csv",
        "/admin/reports/kpis/?format=csv",
        "/admin/reports/kpis/?format=csv&table=sources",
        "/admin/reports/kpis/?format=csv&table=lifecycle",
    ]:
        assert marketer.get(url).headers["Content-Disposition"].startswith("attachment")


def test_a_template_report_adds_its_campaigns(marketer):
    from tests.factories import make_template

    template = make_template()
    first, second = campaign("a", template=template), campaign("b", template=template)
    (lead,) = leads(1)
    bulk_events([(lead, "email_sent", c.pk, T0, {}) for c in (first, second)])
    html = marketer.get(f"/admin/reports/templates/{template.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<td>Sent</td><td class="num">2</td>' in html


def test_the_kpi_page_shows_the_lifecycle_funnel_in_japanese(marketer):
    leads(2)
    html = marketer.get("/admin/reports/kpis/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "見込み客" in html and "<svg" in html
