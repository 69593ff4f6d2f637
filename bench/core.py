"""What every benchmark returns or raises: the Result row, the Skip signal, and percentiles."""

import math
from collections.abc import Sequence
from dataclasses import dataclass


class Skip(Exception):
    """A benchmark cannot run here (a service is down, a tool is missing); the message says why."""


@dataclass
class Result:
    """One row of the table: a figure and the baseline measured alongside it in the same run."""

    name: str
    value: float | None
    unit: str
    baseline_name: str = ""
    baseline_value: float | None = None
    ratio: float | None = None  # value / baseline_value
    note: str = ""

    @classmethod
    def measured(
        cls, name: str, value: float, unit: str, baseline_name: str, baseline_value: float, note: str = ""
    ) -> "Result":
        ratio = value / baseline_value if baseline_value else None
        return cls(name, value, unit, baseline_name, baseline_value, ratio, note)

    @classmethod
    def skipped(cls, name: str, why: str) -> "Result":
        return cls(name, None, "", note=f"skipped: {why}")

    @classmethod
    def failed(cls, name: str, why: str) -> "Result":
        return cls(name, None, "", note=f"failed: {why}")


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: always one of the samples, no interpolation."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
