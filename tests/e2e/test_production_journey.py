"""The whole customer journey in headless Chromium on the real stack (issue 10), with exact numbers at each step.

gunicorn (production settings) + a Celery worker + beat + PostgreSQL + Redis, emails
to an SMTP sink (tests/e2e/production_stack.py). A marketer, in the Japanese UI,
imports a CP932 CSV, writes scoring rules, builds a form and a landing page, sets up
a three-step sequence and a broadcast; visitors browse the marketer's site and
submit; a recipient opens, clicks and converts, turns hot, and sales wins the deal;
the reports show the numbers. Screenshots: artifacts/journey/NN-name.png.
"""

import time
from pathlib import Path

import pytest
from django.conf import global_settings

from campaigns.automation_models import Sequence
from landing.models import Form, LandingPage
from leads.models import Lead
from scoring.models import ScoringRule, ScoringSettings
from mautomation.roles import MARKETER, SALES
from tests.e2e import journey_campaigns as campaign_steps
from tests.e2e import journey_marketer as marketer_steps
from tests.e2e.production_stack import Stack, production_stack  # noqa: F401 (a fixture)
from tests.factories import make_user

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


def wait_for(condition, timeout: float = 60) -> bool:
    """Poll until the worker has done its part; the bound only ends a hung run (nothing is timed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def real_passwords(settings) -> None:
    """The servers check passwords with the production hashers, not the tier's fast test one."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


def test_the_whole_customer_journey_on_the_real_stack(production_stack: Stack, browser, real_passwords) -> None:
    stack, shots = production_stack, Shots()
    make_user("marketer", role=MARKETER)
    make_user("seller", role=SALES, staff=False).__class__.objects.filter(username="seller").update(
        email="seller@example.co.jp"
    )
    marketer = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})
    marketer_steps.log_in(marketer, stack.base)
    job = marketer_steps.import_csv(marketer, stack.base, shots)
    assert (job.created, job.updated, job.errors) == (5, 0, 0), stack.log_tails()
    assert Lead.objects.count() == 5

    marketer_steps.write_scoring(marketer, stack.base, shots)
    assert sorted(ScoringRule.objects.values_list("points", flat=True)) == [5, 20, 20]
    assert ScoringSettings.load().hot_threshold == marketer_steps.HOT_THRESHOLD

    embed = marketer_steps.build_form(marketer, stack.base, stack.site, shots)
    marketer_steps.build_page(marketer, stack.base, shots)
    form = Form.objects.get(slug="whitepaper", published=True)
    assert LandingPage.objects.get(slug="launch").published_at is not None

    campaign_steps.build_sequence(marketer, stack.base, form.pk, stack.site, shots)
    sequence = Sequence.objects.get()
    assert sequence.status == Sequence.Status.ACTIVE and sequence.steps.count() == 3
    campaign = campaign_steps.build_broadcast(marketer, stack.base, stack.site, shots)
    assert wait_for(lambda: stack.sink.total == 5), stack.log_tails()
    assert campaign.sends.filter(status="sent").count() == 5
