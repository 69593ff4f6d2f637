"""The benchmark report: every issue's target in one table, met or not, with the machine and versions."""

import re
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.core import Result
from bench.targets import TARGETS, verdict

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_a_value_target_is_met_or_not_by_the_value() -> None:
    assert verdict(Result.measured("forms.submit_p99", 80, "ms", "bare p99", 10)) == ("< 100 ms (#5)", "met")
    assert verdict(Result.measured("forms.submit_p99", 140, "ms", "bare p99", 10))[1] == "not met"


def test_a_ratio_target_is_met_or_not_by_the_ratio_to_the_in_run_baseline() -> None:
    fast = Result.measured("sending.broadcast_100000", 600, "msg/s", "smtplib", 700)
    slow = Result.measured("sending.broadcast_100000", 300, "msg/s", "smtplib", 700)
    assert verdict(fast) == ("≥ 0.75× smtplib (#6)", "met")
    assert verdict(slow)[1] == "not met"


def test_a_row_without_a_limit_is_measured_for_its_issue_and_a_failed_one_has_no_figure() -> None:
    assert verdict(Result.measured("sales.hot_list_p99", 40, "ms", "/healthz p99", 5)) == ("— (#8)", "measured")
    assert verdict(Result.failed("segments", "boom")) == ("— (#6)", "failed")
    assert verdict(Result.skipped("load", "wrk is not installed")) == ("— (#10)", "skipped")
    assert verdict(Result("reports.kpis_ms", None, "ms"))[1] == "no figure"


def test_every_target_names_rows_a_benchmark_writes() -> None:
    sources = "\n".join(path.read_text() for path in BENCH.glob("bench_*.py"))
    for target in TARGETS:
        stem = re.sub(r"[\d*]+$", "", target.pattern.split(".", 1)[1])
        assert stem in sources, f"no benchmark writes a row matching {target.pattern}"


def test_the_markdown_has_the_machine_versions_date_load_and_one_row_per_result() -> None:
    results = [
        Result.measured("tracking.open_rps", 900, "hits/s", "bare GIF", 1800, note="a | b"),
        Result.measured("load.total_rps", 120, "req/s", "bare GIF view alone", 1200),
    ]
    info = report.RunInfo(datetime(2026, 11, 24, 6, 0, tzinfo=UTC), False, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0), "cmd")
    text = report.markdown(results, info, machine={"CPUs": "2", "CPU model": "Xeon", "RAM": "23.5 GiB"},
                           versions={"Python": "3.12.3", "PostgreSQL": "15.8", "Redis": "7.0.15"})  # fmt: skip
    assert "2026-11-24 06:00 UTC" in text and "`cmd`" in text
    assert "| CPU model | Xeon |" in text and "| PostgreSQL | 15.8 |" in text
    assert "| load average (1 / 5 / 15 min) before | 1.00 / 2.00 / 3.00 |" in text
    open_row = next(line for line in text.splitlines() if "`tracking.open_rps`" in line)
    assert re.search(
        r"\| 900 \| hits/s \| bare GIF \| 1,800 \| 0\.5× \| ≥ 1,000 hits/s \(#6\) \| \*\*not met\*\* \|", open_row
    )
    assert open_row.endswith("a \\| b |")  # a pipe in a note does not split the cell
    assert "— (#10) | measured" in text
    assert "Targets: 0 met, 1 not met" in text


def test_machine_and_versions_are_read_from_this_machine() -> None:
    found = report.machine()
    assert int(found["CPUs"]) >= 1 and found["RAM"].endswith("GiB")
    versions = report.versions("postgres://nobody@127.0.0.1:1/none", "redis://127.0.0.1:1/0")
    assert re.fullmatch(r"\d+\.\d+.*", versions["Django"]) and versions["PostgreSQL"] == "unreachable"
    assert versions["Redis"] == "unreachable"
