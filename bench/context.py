"""The Context handed to every benchmark's run(ctx): options and run-wide resources."""

import os
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import services

ROOT = Path(__file__).resolve().parent.parent
# Overridable so a developer with services elsewhere can still run the suite;
# the defaults are the local services the project's tests use.
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


@dataclass
class Context:
    """Handed to every run(ctx): run-wide options and resources shared between benchmarks."""

    quick: bool
    tmp: Path  # removed at the end of the run
    resources: ExitStack  # closed at the end of the run, even on error or Ctrl-C
    root: Path = ROOT
    redis_url: str = REDIS_URL
    _database_url: str | None = field(default=None, repr=False)
    _secret_key: str = field(default_factory=lambda: os.urandom(48).hex(), repr=False)

    def pick(self, full: int, quick: int) -> int:
        """A size for this run: benchmarks stay bounded, smaller still with --quick."""
        return quick if self.quick else full

    def workdir(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def database_url(self) -> str:
        """A migrated PostgreSQL database for this run, created on first use and dropped at the end.

        Shared because migrating costs seconds and no benchmark so far writes rows that
        another one reads; a benchmark that needs a pristine database should make its own.
        """
        if self._database_url is None:
            self._database_url = self.resources.enter_context(
                services.bench_database(
                    POSTGRES_ADMIN_URL, migrate_env=self._base_env(), cwd=self.root, log=self.tmp / "migrate.log"
                )
            )
        return self._database_url

    def own_database(self, name: str) -> AbstractContextManager[str]:
        """A migrated database for one benchmark alone (`with ctx.own_database("load") as url:`), dropped after."""
        log = self.workdir(name) / "migrate.log"
        return services.bench_database(POSTGRES_ADMIN_URL, migrate_env=self._base_env(), cwd=self.root, log=log)

    def production_env(self, *, database_url: str | None = None, **extra: str) -> dict[str, str]:
        """Environment for a project process (gunicorn, celery, manage.py) configured as deployed.

        On the run's shared database unless `database_url` names another (from own_database).
        """
        env = self._base_env()
        env["DATABASE_URL"] = database_url or self.database_url()
        env.update(extra)
        return env

    def _base_env(self) -> dict[str, str]:
        return services.clean_env(
            DJANGO_ENV="production",
            SECRET_KEY=self._secret_key,
            ALLOWED_HOSTS="127.0.0.1",
            BEHIND_TLS_PROXY="1",
            SECURE_SSL_REDIRECT="0",
            REDIS_URL=self.redis_url,
            ESP="smtp",
            EMAIL_HOST="127.0.0.1",
            DEFAULT_FROM_EMAIL="ma@example.com",
            # Keep anything a process might write (var/, outbox, beat schedule) out of the checkout.
            MAUTOMATION_VAR_DIR=str(self.workdir("var")),
            LOG_LEVEL="WARNING",
        )
