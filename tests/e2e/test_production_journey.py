"""The whole customer journey in headless Chromium on the real stack (issue 10), with exact numbers at each step.

gunicorn (production settings) + a Celery worker + beat + PostgreSQL + Redis, emails
to an SMTP sink (tests/e2e/production_stack.py). A marketer, in the Japanese UI,
imports a CP932 CSV, writes scoring rules, builds a form and a landing page, sets up
a three-step sequence and a broadcast; visitors browse the marketer's site and
submit; a recipient opens, clicks and converts, turns hot, and sales wins the deal;
the reports show the numbers. Screenshots: artifacts/journey/NN-name.png.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.conf import global_settings
from django.db.models import Max
from django.utils import timezone

from campaigns.automation_models import Enrollment, Sequence
from campaigns.automation_tasks import deliver_sends
from campaigns.machines import CLICK_TOO_SOON
from campaigns.models import Campaign
from campaigns.step_dispatch import dispatch_due
from landing.models import Form, LandingPage, Submission
from leads.models import Lead
from mautomation.roles import MARKETER, SALES
from sales.models import Opportunity
from scoring.models import ScoringRule, ScoringSettings
from tests.e2e import journey_campaigns as campaign_steps
from tests.e2e import journey_marketer as marketer_steps
from tests.e2e import journey_sales as sales_steps
from tests.e2e import journey_visitors as visitor_steps
from tests.e2e.production_stack import Stack, running_stack
from tests.factories import make_user
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "journey"


class Shots:
    """Numbered screenshots of each screen, in the order the journey reaches them."""

    def __init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.count:02d}-{name}.png"), full_page=True)


SATO = {"email": "sato@zeta.example.jp", "company_name": "ゼータ株式会社", "last_name": "佐藤", "first_name": "花子"}
KIMURA = {"email": "kimura@eta.example.jp", "company_name": "イータ合同会社", "last_name": "木村", "first_name": "翔"}
YAMADA = {"email": "yamada@alpha.example.jp", "company_name": "アルファ", "last_name": "山田", "first_name": "太郎"}

SELLER = "seller@example.co.jp"
REPORT_COUNTS = {
    "配信済み": "5",
    "不達": "0",
    "到達通知数（ESP）": "0",
    "ユニーク開封数": "1",
    "総開封数": "1",
    "ユニーククリック数": "1",
    "総クリック数": "1",
    "コンバージョン数": "1",
    "配信停止数": "0",
    "苦情数": "0",
}
REPORT_RATES = {"到達率": "100.0%", "開封率": "20.0%", "クリック率（反応率）": "100.0%", "CVR": "100.0%"}
WON = ["1", "1", "1", "3,600,000"]  # opportunities, deals, won, revenue
KPIS_THIS_MONTH = {
    "メール経由のセミナー申込数": "0",
    "メール経由の資料ダウンロード数": "0",
    "有望顧客（MQL）創出数": "1",
    "商談化数": "1",
    "案件化数": "0",
    "MA 経由の売上（円）": "3,600,000",
}
LIFECYCLE = {  # leads now, at this stage or later, conversion from the stage before
    "潜在顧客": ["0", "7", ""],
    "見込み客": ["6", "7", "100.0%"],
    "有望顧客": ["0", "1", "14.3%"],
    "既存顧客": ["1", "1", "100.0%"],
}


def score_of(person: dict[str, str]) -> int | None:
    return Lead.objects.filter(email=person["email"]).values_list("score", flat=True).first()


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


@pytest.fixture
def real_passwords(settings) -> None:
    """The servers check passwords with the production hashers, not the tier's fast test one."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


@dataclass
class Journey:
    stack: Stack
    browser: object
    marketer: object  # the marketer's page
    shots: Shots
    embed: str = ""
    campaign: Campaign | None = None

    def received(self, person: dict[str, str]) -> int:
        return self.stack.sink.received[person["email"]]


def test_the_whole_customer_journey_on_the_real_stack(stack: Stack, browser, real_passwords) -> None:
    make_user("marketer", role=MARKETER)
    seller = make_user("seller", role=SALES, staff=False)
    seller.email = SELLER
    seller.save(update_fields=["email"])
    marketer = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})  # Accept-Language: ja
    marketer_steps.log_in(marketer, stack.base)
    journey = Journey(stack=stack, browser=browser, marketer=marketer, shots=Shots())
    marketer_sets_up(journey)
    visitors_browse_and_submit(journey)
    a_recipient_opens_clicks_and_converts(journey)
    the_sequence_runs_to_day_7(journey)
    sales_wins_the_deal(journey)
    the_reports_show_the_numbers(journey)


def marketer_sets_up(journey: Journey) -> None:
    """1-4: the CSV import, the scoring rules, the form and landing page, the sequence and the broadcast."""
    stack, page, shots = journey.stack, journey.marketer, journey.shots
    job = marketer_steps.import_csv(page, stack.base, shots)
    assert (job.created, job.updated, job.errors, Lead.objects.count()) == (5, 0, 0, 5), stack.log_tails()
    marketer_steps.write_scoring(page, stack.base, shots)
    assert sorted(ScoringRule.objects.values_list("points", flat=True)) == [5, 20, 20]
    assert ScoringSettings.load().hot_threshold == marketer_steps.HOT_THRESHOLD
    journey.embed = marketer_steps.build_form(page, stack.base, stack.site, shots)
    marketer_steps.build_page(page, stack.base, shots)
    form = Form.objects.get(slug="whitepaper", published=True)
    assert LandingPage.objects.get(slug="launch").published_at is not None
    campaign_steps.build_sequence(page, stack.base, form.pk, stack.site, shots)
    sequence = Sequence.objects.get()
    assert (sequence.status, sequence.steps.count()) == (Sequence.Status.ACTIVE, 3)
    journey.campaign = campaign_steps.build_broadcast(page, stack.base, stack.site, shots)
    assert wait_for(lambda: stack.sink.total == 5), stack.log_tails()
    assert journey.campaign.sends.filter(status="sent").count() == 5
    imported = {row[0] for row in marketer_steps.CSV_ROWS[1:]} - {marketer_steps.CSV_ROWS[2][0]}
    assert set(stack.sink.received) == imported | {"suzuki@beta.example.jp"}  # the full-width one, deliverable


def visitors_browse_and_submit(journey: Journey) -> None:
    """5: one reads a case study on the marketer's site and fills in its embedded form, one the landing page."""
    stack = journey.stack
    stack.pages.update(visitor_steps.site_pages(stack.base, journey.embed))
    visitor_steps.browse_and_submit_on_the_site(journey.browser, stack.site, SATO, journey.shots)
    visitor_steps.submit_on_the_landing_page(journey.browser, stack.base, KIMURA, journey.shots)
    assert wait_for(lambda: (score_of(SATO), score_of(KIMURA)) == (25, 20)), (score_of(SATO), score_of(KIMURA))
    assert (Lead.objects.count(), Submission.objects.count()) == (7, 2)
    assert wait_for(lambda: stack.sink.total == 7), stack.log_tails()  # the sequence's day-0 email to each
    assert journey.received(SATO) == journey.received(KIMURA) == 1


def a_recipient_opens_clicks_and_converts(journey: Journey) -> None:
    """6-7: 山田 opens the broadcast, clicks, reads two case studies and converts; he turns hot, sales is told."""
    stack = journey.stack
    sent_at = journey.campaign.sends.latest("sent_at").sent_at
    time.sleep(max(0.0, (sent_at - timezone.now()).total_seconds() + CLICK_TOO_SOON + 1))  # a person reads later
    email = next(message for message in stack.sink.kept if message["To"] == YAMADA["email"])
    visitor_steps.open_click_and_convert(journey.browser, stack.base, email, YAMADA, journey.shots)
    assert wait_for(lambda: score_of(YAMADA) == 30), (score_of(YAMADA), stack.log_tails())
    yamada = Lead.objects.get(email=YAMADA["email"])
    assert {"email_opened", "email_clicked", "form_submit"} <= set(yamada.activities.values_list("kind", flat=True))
    assert wait_for(lambda: journey.received(YAMADA) == 2 and stack.sink.received[SELLER] == 1)  # day 0, alert
    assert (stack.sink.total, Enrollment.objects.count()) == (9, 3)
    assert (yamada.stage, yamada.owner.username) == (Lead.Stage.MQL, "seller")
    alert = next(message for message in stack.sink.kept if message["To"] == SELLER)
    assert "山田" in str(make_header(decode_header(alert["Subject"])))


def the_sequence_runs_to_day_7(journey: Journey) -> None:
    """Time moves on to day 3, then day 7: the dispatcher runs at each due time, the real worker sends."""
    for total in (12, 15):
        result = dispatch_due(now=Enrollment.objects.aggregate(due=Max("next_due_at"))["due"])
        assert result.steps == 3, result
        for template_id, sources in result.sources.items():
            deliver_sends.delay(template_id, sources)
        assert wait_for(lambda total=total: journey.stack.sink.total == total), dict(journey.stack.sink.received)
    assert [journey.received(person) for person in (SATO, KIMURA, YAMADA)] == [3, 3, 1 + 3]


def sales_wins_the_deal(journey: Journey) -> None:
    """8: sales sees the one hot lead and why, converts it and wins the deal."""
    yamada = Lead.objects.get(email=YAMADA["email"])
    rows, why = sales_steps.win_the_deal(journey.browser, journey.stack.base, yamada, journey.shots)
    assert len(rows) == 1 and "山田" in rows[0]
    assert "導入事例ページ閲覧" in why and "フォーム送信" in why
    opportunity = Opportunity.objects.get()
    assert (opportunity.stage, opportunity.amount, opportunity.lead_id) == ("won", sales_steps.AMOUNT, yamada.pk)


def the_reports_show_the_numbers(journey: Journey) -> None:
    """9: the broadcast's funnel (5 sent, 山田 opened, clicked and converted) and this month's KPIs."""
    found = sales_steps.read_reports(journey.marketer, journey.stack.base, journey.campaign.pk, journey.shots)
    assert {label: cells[0] for label, cells in found["counts"].items()} == REPORT_COUNTS
    assert {label: cells[0] for label, cells in found["rates"].items()} == REPORT_RATES
    assert found["pipeline"] == {"ファーストタッチ": WON, "ラストタッチ": ["0", "0", "0", "0"], "影響あり": WON}
    assert {label: cells[-2] for label, cells in found["kpis"].items()} == KPIS_THIS_MONTH  # the last is the target
    assert {label: cells[-1] for label, cells in found["sources"].items()} == {"（流入元なし）": "2", "展示会2026": "5"}
    assert found["lifecycle"] == LIFECYCLE
    assert (journey.stack.sink.total, Lead.objects.count()) == (15, 7)  # nothing more was sent or made on the way
