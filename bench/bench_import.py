"""CSV import (import_leads, CP932, 10% duplicates) end to end on PostgreSQL, against a bare COPY."""

import csv
import io
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench import services
from bench.context import POSTGRES_ADMIN_URL, Context
from bench.core import Result

HEADER = [
    "メールアドレス",
    "姓",
    "名",
    "姓（ふりがな）",
    "名（ふりがな）",
    "会社名",
    "部署",
    "役職",
    "電話番号",
    "タグ",
]
LAST = [
    ("佐藤", "さとう"),
    ("鈴木", "すずき"),
    ("高橋", "たかはし"),
    ("田中", "たなか"),
    ("伊藤", "いとう"),
    ("渡辺", "わたなべ"),
]
FIRST = [
    ("太郎", "たろう"),
    ("花子", "はなこ"),
    ("健一", "けんいち"),
    ("美咲", "みさき"),
    ("翔太", "しょうた"),
    ("陽子", "ようこ"),
]
DEPARTMENTS = ["営業部", "マーケティング部", "情報システム部", "経営企画室", "総務部", ""]
TITLES = ["部長", "課長", "主任", "マネージャー", "担当", ""]
TAGS = ["", "", "", "", "展示会2024", "VIP,資料請求"]
FREE_MAIL = ["gmail.com", "yahoo.co.jp", "outlook.jp"]
FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}  # ASCII -> ＡＳＣＩＩ


def run(ctx: Context) -> list[Result]:
    rows = ctx.pick(100_000, 10_000)
    work = ctx.workdir("import")
    csv_path = work / "leads.csv"
    unique = write_csv(csv_path, rows)
    env = ctx.production_env()  # the run's settings; the database is our own, below
    with services.bench_database(POSTGRES_ADMIN_URL, migrate_env=env, cwd=ctx.root, log=work / "migrate.log") as url:
        env = {**env, "DATABASE_URL": url}
        idle_mb = run_command(ctx, env, ["--help"], work / "help.log")[1]
        wall_s, first_mb = run_command(ctx, env, [str(csv_path)], work / "first.log")
        expect(work / "first.log", f"created {unique}, updated 0, unchanged {rows - unique}, errors 0")
        first_s = job_seconds(url)
        again_mb = run_command(ctx, env, [str(csv_path)], work / "again.log")[1]
        expect(work / "again.log", f"created 0, updated 0, unchanged {rows}, errors 0")
        again_s = job_seconds(url)
        copy_rate = rows / bare_copy(url, csv_path)
    note = f"{rows:,} CP932 rows, {rows - unique:,} duplicates"
    return [
        Result.measured("import.rows_per_s", rows / wall_s, "rows/s", "bare COPY", copy_rate, f"{note}, whole command"),
        Result.measured(
            "import.job_rows_per_s", rows / first_s, "rows/s", "bare COPY", copy_rate, "the job, start to end"
        ),
        Result.measured(
            "import.reimport_rows_per_s", rows / again_s, "rows/s", "bare COPY", copy_rate, "all unchanged"
        ),
        Result.measured("import.peak_rss", max(first_mb, again_mb), "MB", "import_leads --help", idle_mb, note),
    ]


def people(count: int, rng: random.Random) -> list[list[str]]:
    result = []
    for i in range(count):
        (last, last_kana), (first, first_kana) = rng.choice(LAST), rng.choice(FIRST)
        company = rng.randrange(count // 50 + 1)
        domain = rng.choice(FREE_MAIL) if rng.random() < 0.2 else f"company{company}.example.jp"
        phone = f"03-{rng.randrange(10_000):04d}-{rng.randrange(10_000):04d}"
        result.append([f"user{i}@{domain}", last, first, last_kana, first_kana, f"株式会社サンプル{company}",
                       rng.choice(DEPARTMENTS), rng.choice(TITLES), phone, rng.choice(TAGS)])  # fmt: skip
    return result


def write_csv(path: Path, rows: int) -> int:
    """A CP932 file as Excel saves it: CRLF, with 10% duplicates (a third full-width, a third upper case)."""
    rng = random.Random(20240401)
    unique = people(rows - rows // 10, rng)
    duplicates = []
    for n in range(rows // 10):
        copy = list(rng.choice(unique))
        copy[0] = [copy[0], copy[0].upper(), copy[0].translate(FULL_WIDTH)][n % 3]
        duplicates.append(copy)
    everything = unique + duplicates
    rng.shuffle(everything)
    with open(path, "wb") as raw, io.TextIOWrapper(raw, encoding="cp932", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(HEADER)
        writer.writerows(everything)
    return len(unique)


def run_command(ctx: Context, env: dict[str, str], args: list[str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `manage.py import_leads ARGS`, measured on that one child."""
    argv = [sys.executable, "manage.py", "import_leads", *args]
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=ctx.root, stdout=out, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"import_leads exited with {proc.returncode}: {services.tail(log)}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def expect(log: Path, counts: str) -> None:
    """A fast but wrong import is no result: the counts line must be the expected one."""
    lines = log.read_text().strip().splitlines()
    if not lines or lines[-1] != counts:
        raise RuntimeError(f"import_leads printed {lines[-1] if lines else '(nothing)'!r}, expected {counts!r}")


def job_seconds(url: str) -> float:
    """The last import's own duration, without the interpreter and Django starting up."""
    with services.require_postgres(url) as conn:
        query = "SELECT extract(epoch FROM finished_at - started_at) FROM leads_importjob ORDER BY id DESC LIMIT 1"
        return float(conn.execute(query).fetchone()[0])


def bare_copy(url: str, path: Path) -> float:
    """Seconds for PostgreSQL to COPY the same file into a plain table: the floor any import sits on."""
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with services.require_postgres(url) as conn:
        conn.execute(f"CREATE TABLE bench_copy ({columns})")
        t0 = time.perf_counter()
        with conn.cursor() as cursor:
            statement = "COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'SJIS')"
            with cursor.copy(statement) as copy, open(path, "rb") as source:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    copy.write(chunk)
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE bench_copy")
    return elapsed
