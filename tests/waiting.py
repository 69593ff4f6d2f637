"""Polling for work done by another process (a worker, gunicorn, beat) in the tests that run them."""

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass: an upper bound for a hung run, never a measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
