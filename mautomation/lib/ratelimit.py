"""Fixed one-minute windows counted in the shared cache, for the public endpoints' rate limits."""

import time

from django.core.cache import cache

from mautomation.lib.cache_redis import client_and_key

WINDOW_SECONDS = 60


def now() -> float:
    """The clock the windows follow; tests pin it so a minute boundary cannot split a burst."""
    return time.time()


def hit(name: str) -> int:
    """Count one attempt under `name` in the current window; returns the count so far, this one included."""
    return hit_all([name])[0]


def count(name: str) -> int:
    """The attempts counted under `name` in the current window, without counting one."""
    return int(cache.get(_window_key(name)) or 0)


def _window_key(name: str) -> str:
    return f"rl:{name}:{int(now() // WINDOW_SECONDS)}"


def hit_all(names: list[str]) -> list[int]:
    """hit() for several counters at once: on Redis, one round trip for all of them."""
    keys = [_window_key(name) for name in names]
    client, _key = client_and_key(keys[0])
    if client is None:
        return [_hit(key) for key in keys]
    # INCR creates a missing counter at 1, and EXPIRE NX dates only a new one: no add/exists/incr round trips.
    # Django's Redis cache stores integers as plain Redis integers, so cache.get() reads these counters too.
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        stored = client_and_key(key)[1]
        pipeline.incr(stored)
        pipeline.expire(stored, WINDOW_SECONDS + 10, nx=True)
    return pipeline.execute()[::2]


def _hit(key: str) -> int:
    cache.add(key, 0, timeout=WINDOW_SECONDS + 10)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first hit
        cache.set(key, 1, timeout=WINDOW_SECONDS + 10)
        return 1
