"""Handing a task to the broker from a web request without ever failing the request.

Callers keep their own durable record of pending work (the activity outbox,
unsent follow-ups) and a periodic sweeper; this only tries the fast path. After
a broker failure the process stops trying for a while, because each attempt
costs the visitor the connection timeout.
"""

import logging
import time

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 30.0
_down_until = [0.0]


def try_enqueue(task, args: tuple, *, what: str) -> bool:
    """Send the task once (no publish retries: the sweeper is the retry); False if it was not sent."""
    if time.monotonic() < _down_until[0]:
        log.info("broker recently unavailable; %s left for the sweeper", what)
        return False
    try:
        task.apply_async(args, retry=False)
    except Exception:
        _down_until[0] = time.monotonic() + BACKOFF_SECONDS
        log.warning("broker unavailable; %s left for the sweeper", what, exc_info=True)
        return False
    return True


def reset() -> None:
    """Forget a past failure (tests, and after the broker is known to be back)."""
    _down_until[0] = 0.0
