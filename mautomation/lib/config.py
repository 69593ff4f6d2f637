"""Reading settings from the environment.

Kept free of Django imports so that settings.py can use it before Django is
configured. Every function raises ConfigError with a sentence an operator can
act on; manage.py and wsgi.py turn that into one line on stderr.
"""

import ipaddress
import os
from urllib.parse import urlsplit

import dj_database_url

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and the fix."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP networks in CIDR form, such as 203.0.113.0/24."""
    networks = env_list(name)
    for cidr in networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {cidr!r} is not an IP network; write e.g. 203.0.113.0/24.") from None
    return networks


def database_config(url: str, *, sqlite_path: str) -> dict:
    """Django DATABASES['default'] for a DATABASE_URL; SQLite in WAL mode without one."""
    if not url:
        return sqlite_config(sqlite_path)
    scheme = url_scheme("DATABASE_URL", url)
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(
            f"DATABASE_URL has the scheme {scheme or '(none)'!r}; use postgres://user:pass@host:5432/name "
            "or leave it unset for the embedded SQLite database."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises several types for bad URLs
        raise ConfigError(
            f"DATABASE_URL could not be read ({exc}); expected postgres://user:pass@host:5432/name."
        ) from None
    if config["ENGINE"].endswith("sqlite3"):
        return sqlite_config(config["NAME"])
    if not config.get("NAME"):
        raise ConfigError(
            "DATABASE_URL names no database: add it after the host, as in postgres://host:5432/mautomation."
        )
    return config


def sqlite_config(path: str) -> dict:
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the
    # write lock at BEGIN so two writers queue instead of failing with "database is locked".
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


def url_scheme(name: str, url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid URL ({exc}).") from None


def redis_url(name: str) -> str:
    url = env_str(name)
    if url and url_scheme(name, url) not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{name}={url!r} is not a Redis URL; expected redis://host:6379/0.")
    return url
