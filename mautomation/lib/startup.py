"""Turn a configuration error into one clear line instead of a traceback."""

import sys
from collections.abc import Callable
from typing import TypeVar

from mautomation.lib.config import ConfigError

T = TypeVar("T")


def or_exit(start: Callable[[], T]) -> T:
    """Run start(); on a ConfigError print its message and exit with status 2."""
    try:
        return start()
    except ConfigError as exc:
        sys.stderr.write(f"mautomation: configuration error: {exc}\n")
        raise SystemExit(2) from None
