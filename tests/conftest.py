"""One suite, two tiers.

Tier 1 (default): SQLite in memory, Celery tasks run eagerly in the test process.
Tier 2: with DATABASE_URL=postgres://… and REDIS_URL set, the same suite runs on
PostgreSQL and the tests marked `integration` also run, against a real Celery
worker started here on the real Redis broker. `--require-integration` (used by
.ci/run) turns a missing tier 2 into an error instead of a quiet pass.
"""

import pytest
from django.conf import settings as django_settings

from landing import form_cache, page_cache
from mautomation.celery import app as celery_app
from mautomation.lib import enqueue, ratelimit

TIER2 = bool(django_settings.REDIS_URL) and not django_settings.USING_SQLITE
pytest_plugins = ["tests.worker"]


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--require-integration",
        action="store_true",
        help="Fail unless PostgreSQL, Redis and the integration tests are all present (CI's second tier).",
    )


def pytest_collection_modifyitems(config, items) -> None:
    integration = [item for item in items if item.get_closest_marker("integration")]
    config._integration_collected = len(integration)
    if config.getoption("--require-integration"):
        if not TIER2:
            raise pytest.UsageError("--require-integration: set DATABASE_URL=postgres://… and REDIS_URL=redis://….")
        if not integration:
            raise pytest.UsageError("--require-integration: no integration test was collected.")
    if not TIER2 and integration:
        config.hook.pytest_deselected(items=integration)
        items[:] = [item for item in items if not item.get_closest_marker("integration")]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    count = getattr(config, "_integration_collected", 0)
    database = django_settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    if TIER2:
        terminalreporter.write_line(f"tier 2: {database}, Redis, {count} integration tests with a real Celery worker")
    else:
        terminalreporter.write_line(
            f"tier 1: {database}, eager tasks; {count} integration tests not run (set DATABASE_URL and REDIS_URL)"
        )


@pytest.fixture(autouse=True)
def _tier1_isolation(request, settings):
    """Outside integration tests: tasks run eagerly, the cache is private to the test."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _broker_backoff_forgotten():
    """A broker failure simulated by one test must not make the next one skip its dispatch."""
    enqueue.reset()
    yield
    enqueue.reset()


@pytest.fixture(autouse=True)
def _rate_limit_clock_pinned(monkeypatch) -> None:
    """Rate-limit windows are per minute: a burst in a test must not straddle a minute boundary."""
    monkeypatch.setattr(ratelimit, "now", lambda: 1_800_000_000.0)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """The production hasher costs about half a second per test user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _process_caches_emptied():
    """Forms and page versions kept per process: a rolled-back test database reuses their ids and slugs."""
    form_cache.clear()
    page_cache.clear()
    yield
    form_cache.clear()
    page_cache.clear()
