"""A PostgreSQL cluster of the test's own, which it may stop and start (the shared one is never touched).

`initdb` into a fresh directory under /tmp, a free port on 127.0.0.1, the
Unix socket in that directory, and `pg_ctl` to start and stop it. PostgreSQL
refuses to run as root, and CI runs the tests as root: then every command runs
as the `postgres` user through `runuser`, and the directory is handed to that
user (pytest's own tmp_path is not readable by it, hence /tmp). As any other
user, the commands run as that user.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from tests.integration.processes import BASE_DIR
from tests.smtp_sink import free_port


def _bin(name: str) -> str:
    """The newest installed server's program (Debian keeps them outside PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(path.split("/")[4]))
    return found[-1] if found else shutil.which(name) or name


class PrivatePostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mautomation-pg-"))
        self.data, self.log, self.port = self.dir / "data", self.dir / "server.log", free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, user="postgres", group="postgres")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run([*prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=120)

    def init(self) -> None:
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
                  "--locale", "C")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=50"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A fast shutdown: sessions are cut, committed work is written out (what `systemctl restart` does)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def manage(*argv: str, env: dict[str, str], timeout: float = 300) -> str:
    """Run a management command against the private database; its output, or a failure with its last lines."""
    done = subprocess.run([sys.executable, "manage.py", *argv], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
    assert done.returncode == 0, f"manage.py {argv[0]} failed:\n{(done.stdout + done.stderr)[-3000:]}"
    return done.stdout
