"""Fixed one-minute windows counted in the shared cache, for the public endpoints' rate limits."""

import time

from django.core.cache import cache

WINDOW_SECONDS = 60


def now() -> float:
    """The clock the windows follow; tests pin it so a minute boundary cannot split a burst."""
    return time.time()


def hit(name: str) -> int:
    """Count one attempt under `name` in the current window; returns the count so far, this one included."""
    key = f"rl:{name}:{int(now() // WINDOW_SECONDS)}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 10)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first hit
        cache.set(key, 1, timeout=WINDOW_SECONDS + 10)
        return 1
