"""The sending rate limit, shared by every worker: fixed one-second and one-hour windows in the cache.

SEND_RATE_PER_SECOND and SEND_RATE_PER_HOUR (0: no limit) bound the messages
handed to the mail system by all workers together; a run asks for a few
messages at a time and sends only what it was granted.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Grant:
    count: int
    wait: float = 0.0  # when count is 0: seconds until the spent window ends


def now() -> float:
    return time.time()


def take(want: int) -> Grant:
    """Up to `want` messages allowed now by both windows."""
    per_second, per_hour = settings.SEND_RATE_PER_SECOND, settings.SEND_RATE_PER_HOUR
    clock = now()
    granted = _reserve(f"send-rate:h:{int(clock // 3600)}", want, per_hour, 3700) if per_hour else want
    if not granted:
        return Grant(0, 3600 - clock % 3600)
    if per_second:
        second = _reserve(f"send-rate:s:{int(clock)}", granted, per_second, 5)
        if per_hour and second < granted:
            cache.decr(f"send-rate:h:{int(clock // 3600)}", granted - second)
        granted = second
    return Grant(granted, 0.0 if granted else 1 - clock % 1)


def _reserve(key: str, want: int, limit: int, ttl: int) -> int:
    cache.add(key, 0, timeout=ttl)
    try:
        total = cache.incr(key, want)
    except ValueError:  # expired between add and incr
        cache.set(key, want, timeout=ttl)
        total = want
    over = min(max(0, total - limit), want)
    if over:
        cache.decr(key, over)
    return want - over
