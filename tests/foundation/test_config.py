"""Settings read from the environment: defaults, parsing, and one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mautomation.lib.config import ConfigError, database_config, env_bool, env_list, redis_url

ROOT = Path(__file__).resolve().parents[2]
PROD_SECRET = "k7Qz-production-like-secret-9fJ2mX4vL8pR1sT6wY3bN5cH0dG"


def test_no_database_url_gives_sqlite_in_wal_mode():
    config = database_config("", sqlite_path="/tmp/db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_postgres_url_gives_postgresql_with_persistent_connections():
    config = database_config("postgres://ma:secret@db.internal:5433/mautomation", sqlite_path="unused")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal",
        5433,
        "mautomation",
        "ma",
    )
    assert config["CONN_MAX_AGE"] > 0 and config["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://localhost/ma", "scheme 'mysql'"),
        ("postgres://[::1", "not a valid URL"),
        ("postgres://localhost:5432", "names no database"),
        ("localhost/ma", "scheme '(none)'"),
    ],
)
def test_malformed_database_url_is_refused_with_its_reason(url, fragment):
    with pytest.raises(ConfigError, match="DATABASE_URL") as error:
        database_config(url, sqlite_path="unused")
    assert fragment in str(error.value)


def test_redis_url_must_be_a_redis_url(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    with pytest.raises(ConfigError, match="not a Redis URL"):
        redis_url("REDIS_URL")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    assert redis_url("REDIS_URL") == "redis://localhost:6379/0"


def test_booleans_accept_common_words_and_refuse_others(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ConfigError, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", False)


def test_lists_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,, ")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "SECRET_KEY", "ESP"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "postgres//oops"}, "DATABASE_URL has the scheme"),
        ({"DJANGO_ENV": "production", "ALLOWED_HOSTS": "ma.example.com"}, "SECRET_KEY must be set"),
        ({"DJANGO_ENV": "production", "SECRET_KEY": PROD_SECRET}, "ALLOWED_HOSTS must list"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV='staging'"),
        ({"ESP": "carrier-pigeon"}, "ESP='carrier-pigeon' is not known"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(env, message):
    result = manage("check", **env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mautomation: configuration error: ")
    assert message in lines[0]


def production_env(**extra: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": PROD_SECRET,
        "ALLOWED_HOSTS": "ma.example.com",
        "DATABASE_URL": "postgres://ma@db.example.com:5432/mautomation",
        "REDIS_URL": "redis://redis.example.com:6379/0",
        "ESP": "smtp",
        "EMAIL_HOST": "smtp.example.com",
        "DEFAULT_FROM_EMAIL": "ma@example.com",
        **extra,
    }


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_flags_an_embedded_stack_in_production():
    env = production_env()
    del env["DATABASE_URL"], env["REDIS_URL"]
    env["ESP"] = "file"
    result = manage("check", "--deploy", **env)
    for check_id in ("mautomation.W001", "mautomation.W002", "mautomation.W003"):
        assert check_id in result.stderr + result.stdout


def test_debug_is_refused_in_production():
    result = manage("check", **production_env(DEBUG="1"))
    assert result.returncode == 2
    assert "DEBUG=1 is refused" in result.stderr
