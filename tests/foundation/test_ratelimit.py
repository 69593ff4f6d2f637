"""The public endpoints' rate-limit counter: one count per attempt, a new count each minute."""

import pytest

from mautomation.lib import ratelimit


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}


def test_attempts_are_counted_within_a_window(monkeypatch):
    monkeypatch.setattr(ratelimit, "now", lambda: 120.0)
    assert [ratelimit.hit("x") for _ in range(3)] == [1, 2, 3]
    assert ratelimit.hit("y") == 1


def test_a_new_minute_starts_a_new_count(monkeypatch):
    monkeypatch.setattr(ratelimit, "now", lambda: 120.0)
    ratelimit.hit("x")
    monkeypatch.setattr(ratelimit, "now", lambda: 180.0)
    assert ratelimit.hit("x") == 1


def test_several_counters_are_hit_at_once_each_with_its_own_count(monkeypatch):
    monkeypatch.setattr(ratelimit, "now", lambda: 600.0)
    ratelimit.hit("a")
    assert ratelimit.hit_all(["a", "b"]) == [2, 1]
