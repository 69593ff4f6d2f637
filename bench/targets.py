"""Every issue's speed target, in one place: which rows it applies to, the limit, and whether a row meets it.

A target applies to the value or to the ratio (value / in-run baseline) of the rows
whose name matches its pattern (fnmatch). Rows without a target are reported with the
issue that asked for them ("measured"): the issues ask for a figure there, not a limit.
"""

import operator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bench.core import Result

OPS = {">=": operator.ge, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Target:
    pattern: str
    issue: int
    op: str  # ">=", "<" or "=="
    limit: float
    text: str  # as the report shows it
    on_ratio: bool = False  # the limit is on value / baseline, not on the value

    def met(self, result: Result) -> bool | None:
        """True or False; None when the row has no figure (skipped, failed, no baseline)."""
        figure = result.ratio if self.on_ratio else result.value
        return None if figure is None else OPS[self.op](figure, self.limit)


TARGETS = (
    Target("import.rows_per_s", 3, ">=", 25_000, "≥ 25,000 rows/s"),
    Target("import.peak_rss", 3, "<", 200, "< 200 MB"),
    Target("scoring.rescore_s", 4, "<", 60, "< 60 s"),
    Target("forms.submit_rps", 5, ">=", 0.5, "≥ 0.5× bare insert", on_ratio=True),
    Target("forms.submit_p99", 5, "<", 100, "< 100 ms"),
    Target("pages.get_rps", 5, ">=", 0.5, "≥ 0.5× bare page", on_ratio=True),
    Target("sending.broadcast_*", 6, ">=", 0.75, "≥ 0.75× smtplib", on_ratio=True),
    Target("sending.worker_rss_*", 6, "<", 250, "< 250 MB"),
    Target("tracking.open_rps", 6, ">=", 1_000, "≥ 1,000 hits/s"),
    Target("tracking.click_rps", 6, ">=", 1_000, "≥ 1,000 hits/s"),
    Target("segments.count_ms", 6, "<", 1_000, "< 1 s"),
    Target("automation.first_email_p99", 7, "<", 5_000, "< 5 s"),
    Target("reports.campaign_ms", 9, "<", 50, "< 50 ms"),
    Target("reports.kpis_ms", 9, "<", 300, "< 300 ms"),
    Target("load.errors", 10, "==", 0, "0 errors"),
    Target("load.lost", 10, "==", 0, "0 lost or doubled"),
)

# The issue whose "Speed" section asked for a benchmark's figures, by the prefix of its rows.
ISSUES = {
    "tasks": 2, "http": 2, "import": 3, "api": 3, "tracking": 6, "scoring": 4, "forms": 5, "pages": 5,
    "sending": 6, "segments": 6, "automation": 7, "sales": 8, "reports": 9, "load": 10,
}  # fmt: skip


def target_for(name: str) -> Target | None:
    return next((t for t in TARGETS if fnmatchcase(name, t.pattern)), None)


def issue_for(name: str) -> int | None:
    target = target_for(name)
    return target.issue if target else ISSUES.get(name.split(".", 1)[0])


def verdict(result: Result) -> tuple[str, str]:
    """(target text with its issue, "met" / "not met" / "no figure" / "measured" / "failed" / "skipped")."""
    target, issue = target_for(result.name), issue_for(result.name)
    if result.value is None and result.note.startswith(("failed", "skipped")):  # the benchmark did not run through
        return (f"{target.text} (#{target.issue})" if target else f"— (#{issue})"), result.note.split(":")[0]
    if target is None:
        return (f"— (#{issue})" if issue else "—"), "measured"
    met = target.met(result)
    return f"{target.text} (#{target.issue})", {True: "met", False: "not met", None: "no figure"}[met]
