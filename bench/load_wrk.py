"""wrk processes of the load run: one per kind of request, all at once, each bounded by the same deadline.

Each wrk runs bench/load_mix.lua, which stops starting requests at the deadline and
then lets wrk run a few seconds more, so every request sent has been answered when
wrk stops: "sent" and "answered" can then be compared exactly with what the server
stored. done() writes the latency quantiles in 0.1 % steps; the total's p50/p99 are
read from the kinds' quantiles merged (weighted by their request counts), exact to
that step.
"""

import bisect
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("load_mix.lua")
HOST = "127.0.0.1"
GRACE = 10  # seconds wrk runs past the deadline so the last requests are answered (and its timeout)


@dataclass
class Kind:
    """One kind of request: a template (see load_mix.lua) and how many connections load it."""

    name: str
    method: str
    path: str
    connections: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    paths: Path | None = None  # a file of paths, each used once, instead of `path`

    def spec(self) -> str:
        lines = [self.method, self.path, self.body, *(f"{k}: {v}" for k, v in self.headers.items())]
        if any("\n" in line for line in lines):
            raise ValueError(f"{self.name}: a request template line may not contain a newline")
        return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    """What one wrk process reports: requests sent and answered, errors, and latency quantiles (ms)."""

    name: str
    sent: int
    answered: int
    errors: int
    seconds: float
    quantiles: list[tuple[float, float]]  # (percent, ms), ascending

    @property
    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return next((ms for q, ms in self.quantiles if q >= p), self.quantiles[-1][1])


class Running:
    """wrk processes under way; finished() says when all have exited, outcomes() reads what they wrote."""

    def __init__(self, deadline: int, window: float, workdir: Path, grace: int) -> None:
        self.deadline, self.window, self.workdir, self.grace = deadline, window, workdir, grace
        self.procs: list[tuple[Kind, subprocess.Popen]] = []

    def finished(self) -> bool:
        return all(proc.poll() is not None for _, proc in self.procs)

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def outcomes(self) -> list["Outcome"]:
        found = []
        for kind, proc in self.procs:
            out, log = self.workdir / f"{kind.name}.out", self.workdir / f"{kind.name}.wrk.log"
            code = proc.wait(self.window + self.grace + 60)
            if code != 0 or not out.exists():
                raise RuntimeError(f"wrk for {kind.name} exited with {code}: {log.read_text()[-300:]}")
            found.append(parse(kind.name, out.read_text(), self.window))
        return found


def start(port: int, kinds: list[Kind], *, seconds: int, workdir: Path, grace: int = GRACE) -> Running:
    """Start loading every kind at once: no request starts after `seconds` (to the second)."""
    deadline = int(time.time()) + seconds + 1
    running = Running(deadline, deadline - time.time(), workdir, grace)
    for kind in kinds:
        spec, out = workdir / f"{kind.name}.spec", workdir / f"{kind.name}.out"
        spec.write_text(kind.spec())
        out.unlink(missing_ok=True)
        argv = ["wrk", "-t1", f"-c{kind.connections}", f"-d{seconds + 1 + grace}s", "--timeout", f"{grace}s",
                "-s", str(LUA), f"http://{HOST}:{port}/", "--", str(spec), str(deadline), str(out), "1"]  # fmt: skip
        if kind.paths:
            argv.append(str(kind.paths))
        with open(workdir / f"{kind.name}.wrk.log", "wb") as log:
            running.procs.append((kind, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)))
    return running


def run(port: int, kinds: list[Kind], *, seconds: int, workdir: Path, grace: int = GRACE) -> list["Outcome"]:
    """Load every kind at once for `seconds` and wait for wrk; their outcomes, in the order given."""
    return start(port, kinds, seconds=seconds, workdir=workdir, grace=grace).outcomes()


def parse(name: str, text: str, seconds: float) -> Outcome:
    """The file load_mix.lua's done() writes: sent, answered, errors, then "q <percent> <microseconds>" lines."""
    counts, quantiles = {}, []
    for line in text.splitlines():
        parts = line.split()
        if parts[0] == "q":
            quantiles.append((float(parts[1]), float(parts[2]) / 1000))
        else:
            counts[parts[0]] = int(float(parts[1]))
    return Outcome(name, counts["sent"], counts["answered"], counts["errors"], seconds, quantiles)


def merged_percentile(outcomes: list[Outcome], p: float) -> float:
    """The p-th percentile (ms) of all requests together, from each kind's quantiles weighted by its count.

    A kind's share of requests at or under v is read from its quantile table (the
    highest step whose value is <= v); the answer is the smallest value of any table
    at which the total share reaches p.
    """
    total = sum(o.answered for o in outcomes)
    if not total:
        return float("nan")
    tables = [(o.answered, [ms for _, ms in o.quantiles], [q for q, _ in o.quantiles]) for o in outcomes]
    candidates = sorted({ms for _, values, _ in tables for ms in values})
    for v in candidates:
        share = sum(n * (qs[i - 1] if (i := bisect.bisect_right(values, v)) else 0.0) for n, values, qs in tables)
        if share >= p * total - 1e-9:
            return v
    return candidates[-1]
