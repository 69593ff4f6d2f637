"""Tier 2: 200 simultaneous submissions of one new address to the hosted form, over real HTTP.

gunicorn (2 processes × 10 threads, each thread its own database connection)
serves the test database; 200 client threads, released together by a barrier,
each post the hosted form (/f/<slug>/, with the CSRF cookie and token a browser
got from the page, and a form token old enough to pass the minimum fill time).
The request only stores the raw submission; a prefork worker with three
processes makes the lead, and three ingestion runs are started at once so they
race for the same new address.

Expected, with the rules "first request: 20 once", "request: 5 every time" and
"request today: 3 once a day": one lead, 200 submissions and 200 form_submit
activities all pointing at it, a score of 20 + 200 × 5 + 3 = 1023 from exactly
202 ledger rows, and one crossing of the hot-lead threshold (one stage change).
"""

import os
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter

import pytest
from django.db.models import Sum

from landing.models import Submission
from landing.tasks import ingest_submissions
from leads.models import Activity, Lead
from mautomation.celery import app as celery_app
from mautomation.tasks import ping
from scoring.models import ScoreEntry, ScoringRule
from tests.integration import processes
from tests.integration.processes import wait_for
from tests.landing.form_helpers import aged_token, make_form
from tests.smtp_sink import free_port
from tests.worker import _database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POSTS = 200
EXPECTED_SCORE = 20 + POSTS * 5 + 3
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def stack(tmp_path):
    """gunicorn and a three-process worker on a queue of their own, both on the test database."""
    queue, port = f"test-race-{uuid.uuid4().hex[:8]}", free_port()
    limits = {"FORM_RATE_LIMIT_PER_MINUTE": "1000", "FORM_RATE_LIMIT_PER_FORM_PER_MINUTE": "1000"}
    files = {"ESP": "file", "MAUTOMATION_VAR_DIR": str(tmp_path / "var")}  # the hot-lead alert goes to a file
    env = {**os.environ, **limits, **files, "DATABASE_URL": _database_url(), "CELERY_QUEUE": queue}
    previous, celery_app.conf.task_default_queue = celery_app.conf.task_default_queue, queue
    web = processes.start(_gunicorn_argv(port), env=env, log=tmp_path / "gunicorn.log")
    worker = processes.start(processes.worker_argv(queue, queue, concurrency=3), env=env, log=tmp_path / "worker.log")
    try:
        ping.delay("ready").get(timeout=60)
        up = wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60)
        assert up, processes.tail(tmp_path / "gunicorn.log")
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        processes.stop(web)
        processes.stop(worker)
        celery_app.conf.task_default_queue = previous


def _gunicorn_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "mautomation.wsgi:application", "--workers", "2", "--threads", "10",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket"]  # fmt: skip


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # it answered (503 while something is still starting is an answer)
    except OSError:
        return False


def _csrf(url: str) -> tuple[str, str]:
    """The CSRF cookie and form token a browser gets with the hosted form page."""
    with urllib.request.urlopen(url, timeout=30) as page:
        cookie = next(value for value in page.headers.get_all("Set-Cookie") if value.startswith("csrftoken="))
        return cookie.split(";", 1)[0], CSRF_FIELD.search(page.read().decode()).group(1)


def _race(url: str, body: bytes, cookie: str) -> Counter:
    start, statuses = threading.Barrier(POSTS), Counter()

    def submit() -> None:
        request = urllib.request.Request(url, data=body, headers={"Cookie": cookie})
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                statuses[answer.status] += 1
        except urllib.error.HTTPError as exc:
            statuses[exc.code] += 1
        except OSError as exc:
            statuses[type(exc).__name__] += 1

    threads = [threading.Thread(target=submit) for _ in range(POSTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_200_simultaneous_submissions_of_one_new_address_make_one_lead_scored_exactly(stack):
    base, tmp_path = stack
    form = make_form("race")
    ScoringRule.objects.create(name="初回", event_kind="form_submit", form_id=form.pk, points=20, frequency="once")
    ScoringRule.objects.create(name="毎回", event_kind="form_submit", form_id=form.pk, points=5)
    ScoringRule.objects.create(name="本日", event_kind="form_submit", form_id=form.pk, points=3, frequency="daily")
    url = f"{base}/f/race/"
    cookie, csrf = _csrf(url)
    fields = {"csrfmiddlewaretoken": csrf, "_token": aged_token(form), "email": "Race.Person@Example.co.jp",
              "last_name": "競争", "consent": "on"}  # fmt: skip

    statuses = _race(url, urllib.parse.urlencode(fields).encode(), cookie)
    assert statuses == Counter({200: POSTS}), processes.tail(tmp_path / "gunicorn.log")
    assert Submission.objects.count() == POSTS  # every raw submission kept

    for _ in range(3):  # three ingestion runs at once, besides the one the first request woke
        ingest_submissions.delay()
    assert wait_for(lambda: not Submission.objects.filter(ingested_at__isnull=True).exists(), 300)
    unprocessed = Activity.objects.filter(kind="form_submit", processed_at__isnull=True)
    assert wait_for(lambda: Activity.objects.filter(kind="form_submit").count() == POSTS and not unprocessed.exists(),
                    300), processes.tail(tmp_path / "worker.log")  # fmt: skip
    ping.delay("drained").get(timeout=60)

    lead = Lead.objects.get()
    assert lead.email_key == "race.person@example.co.jp"
    assert Submission.objects.filter(lead=lead).count() == POSTS
    assert Activity.objects.filter(kind="form_submit", lead=lead).count() == POSTS
    assert lead.score == EXPECTED_SCORE
    ledger = ScoreEntry.objects.filter(lead=lead)
    assert ledger.count() == 1 + POSTS + 1 and ledger.aggregate(total=Sum("points"))["total"] == EXPECTED_SCORE
    assert Activity.objects.filter(kind=Activity.Kind.STAGE_CHANGED, lead=lead).count() == 1
    assert lead.stage == Lead.Stage.MQL
