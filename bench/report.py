"""`python -m bench --report docs/benchmarks.md`: the run's rows as a Markdown table with machine and versions.

Each row: value, baseline, ratio, the issue's target (bench/targets.py) and met / not
met. Above the table: the machine (CPUs, model, RAM), the versions of Python, Django,
PostgreSQL, Redis, Celery and gunicorn, the date, and the load average before and after
the run, since a shared machine moves every figure.
"""

import os
import platform
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import psycopg
import redis

from bench.core import Result
from bench.targets import verdict


@dataclass
class RunInfo:
    started: datetime
    quick: bool
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    command: str


def machine() -> dict[str, str]:
    model = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor() or "unknown")  # fmt: skip
    total_kb = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    return {"CPUs": str(os.cpu_count()), "CPU model": model, "RAM": f"{total_kb / 1024**2:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}"}  # fmt: skip


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def versions(postgres_url: str, redis_url: str) -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for package in ("Django", "celery", "gunicorn"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    try:
        with psycopg.connect(postgres_url, connect_timeout=3) as db:
            found["PostgreSQL"] = db.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        found["PostgreSQL"] = "unreachable"
    try:
        found["Redis"] = redis.Redis.from_url(redis_url, socket_connect_timeout=2).info("server")["redis_version"]
    except redis.RedisError:
        found["Redis"] = "unreachable"
    return found


def number(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(result: Result) -> str:
    target, met = verdict(result)
    ratio = "—" if result.ratio is None else f"{result.ratio:.3g}×"
    cells = [f"`{result.name}`", number(result.value), result.unit, result.baseline_name, number(result.baseline_value),
             ratio, target, f"**{met}**" if met in ("not met", "failed") else met, result.note]  # fmt: skip
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def markdown(results: list[Result], info: RunInfo, *, machine: dict[str, str], versions: dict[str, str]) -> str:
    load = " / ".join(f"{a:.2f}" for a in info.load_before), " / ".join(f"{a:.2f}" for a in info.load_after)
    verdicts = [verdict(r)[1] for r in results]
    lines = [
        "# Benchmarks", "",
        f"Written by `{info.command}` on {info.started:%Y-%m-%d %H:%M} UTC"
        + (" with `--quick` (small runs: a smoke test, noisier figures)." if info.quick else "."),
        "Every row has a baseline measured in the same run; compare ratios between runs, not raw figures.",
        "What each benchmark measures: bench/README.md. Targets: bench/targets.py, from each issue's Speed section.",
        "", "| machine | |", "| --- | --- |", *(f"| {k} | {cell(v)} |" for k, v in machine.items()),
        f"| load average (1 / 5 / 15 min) before | {load[0]} |", f"| load average after | {load[1]} |",
        "", "| version | |", "| --- | --- |", *(f"| {k} | {cell(v)} |" for k, v in versions.items()), "",
        f"Targets: {verdicts.count('met')} met, {verdicts.count('not met')} not met, "
        f"{verdicts.count('no figure')} without a figure; {verdicts.count('measured')} rows measured without a limit; "
        f"{verdicts.count('failed')} benchmarks failed, {verdicts.count('skipped')} skipped.",
        "", "| benchmark | value | unit | baseline | baseline value | ratio | target (issue) | met | note |",
        "| --- | ---: | --- | --- | ---: | ---: | --- | --- | --- |", *(row(r) for r in results), "",
    ]  # fmt: skip
    return "\n".join(lines)


def write(path: Path, results: list[Result], info: RunInfo, *, postgres_url: str, redis_url: str) -> None:
    text = markdown(results, info, machine=machine(), versions=versions(postgres_url, redis_url))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
