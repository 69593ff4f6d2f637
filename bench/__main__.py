"""`python -m bench`: run every bench/bench_*.py module and print one table.

Each module exposes run(ctx: Context) -> list[Result]. A module that raises Skip
is reported as skipped (exit 0 unless --strict); any other exception is a
failure (exit 1) and its traceback goes to stderr.
"""

import argparse
import importlib
import json
import os
import pkgutil
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import bench
from bench import report
from bench.context import POSTGRES_ADMIN_URL, REDIS_URL, Context
from bench.core import Result, Skip

PREFIX = "bench_"


def discover() -> dict[str, ModuleType]:
    """Short name ("tasks") -> module, for every bench/bench_*.py, in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith(PREFIX))
    return {name.removeprefix(PREFIX): importlib.import_module(f"bench.{name}") for name in names}


def parse_args(argv: list[str] | None, available: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the mautomation benchmarks.")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help=f"run only this benchmark (repeatable): {', '.join(available)}"
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs: a smoke test, noisier figures")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument(
        "--report", type=Path, metavar="PATH", help="also write a Markdown report (machine, versions, targets) to PATH"
    )
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a benchmark was skipped")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with the servers' logs")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or []) - set(available))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; available: {', '.join(available)}")
    return args


def run_one(name: str, run: Callable[[Context], list[Result]], ctx: Context) -> tuple[list[Result], str]:
    """The module's results and its outcome: "ok", "skipped" or "failed"."""
    try:
        return run(ctx), "ok"
    except Skip as exc:
        print(f"bench: {name} skipped: {exc}", file=sys.stderr)
        return [Result.skipped(name, str(exc))], "skipped"
    except Exception as exc:  # a bug or a broken service mid-run: report it, keep the others going
        traceback.print_exc()
        return [Result.failed(name, f"{exc.__class__.__name__}: {exc}")], "failed"


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def table(results: list[Result]) -> str:
    header = ("benchmark", "value", "unit", "baseline", "baseline value", "ratio", "note")
    rows = [
        (
            r.name,
            fmt(r.value),
            r.unit,
            r.baseline_name,
            fmt(r.baseline_value),
            "-" if r.ratio is None else f"{r.ratio:.3g}x",
            r.note,
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    right = {1, 4, 5}  # numbers line up on the right

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        return "  ".join([*cells, row[-1]]).rstrip()

    return "\n".join([line(header), line(tuple("-" * w for w in widths) + ("----",)), *map(line, rows)])


def write_json(path: Path, results: list[Result], args: argparse.Namespace, started: datetime) -> None:
    doc = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "host": platform.node(),
        "python": platform.python_version(),
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so the finally clauses stop servers and drop the database."""


def terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    modules = discover()
    args = parse_args(argv, list(modules))
    if args.list:
        print("\n".join(f"{name:10} {(m.__doc__ or '').strip().splitlines()[0]}" for name, m in modules.items()))
        return 0
    signal.signal(signal.SIGTERM, terminate)
    started, load_before = datetime.now(UTC), os.getloadavg()
    results: list[Result] = []
    outcomes: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="mautomation-bench-"))
    try:
        with ExitStack() as resources:  # closed before tmp goes: shutdown may still write logs into it
            ctx = Context(quick=args.quick, tmp=tmp, resources=resources)
            for name, module in modules.items():
                if args.only and name not in args.only:
                    continue
                print(f"bench: running {name}{' (quick)' if args.quick else ''}...", file=sys.stderr, flush=True)
                t0 = time.monotonic()
                rows, outcome = run_one(name, module.run, ctx)
                print(f"bench: {name} {outcome} in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
                results += rows
                outcomes.append(outcome)
    finally:
        if args.keep:
            print(f"bench: logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if "failed" in outcomes and not args.keep:
        print("bench: rerun with --keep to read the servers' logs", file=sys.stderr)
    print(table(results))
    if args.json:
        write_json(args.json, results, args, started)
    if args.report:
        command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
        info = report.RunInfo(started, args.quick, load_before, os.getloadavg(), command)
        report.write(args.report, results, info, postgres_url=POSTGRES_ADMIN_URL, redis_url=REDIS_URL)
        print(f"bench: report written to {args.report}", file=sys.stderr)
    if "failed" in outcomes or (args.strict and "skipped" in outcomes):
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Terminated) as exc:
        print("bench: interrupted; servers stopped and the bench database dropped", file=sys.stderr)
        sys.exit(130 if isinstance(exc, KeyboardInterrupt) else 143)
