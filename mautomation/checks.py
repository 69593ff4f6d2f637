"""System checks that reject half-configured settings.

Fatal mistakes (a malformed URL, no SECRET_KEY in production) already stop
start-up in settings.py; these catch combinations that parse but cannot work.
"""

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from mautomation.lib.esp import ESPS, missing_keys


@register()
def esp_is_complete(app_configs, **kwargs) -> list:
    missing = missing_keys(settings.ESP, dict(os.environ))
    if not missing:
        return []
    return [
        Error(
            f"ESP={settings.ESP} is selected but {', '.join(missing)} is not set.",
            hint="Set the missing variables, or choose ESP=file to write emails to var/outbox/.",
            id="mautomation.E001",
        )
    ]


@register()
def smtp_login_is_complete(app_configs, **kwargs) -> list:
    if bool(settings.EMAIL_HOST_USER) == bool(settings.EMAIL_HOST_PASSWORD):
        return []
    return [
        Error(
            "Only one of EMAIL_HOST_USER and EMAIL_HOST_PASSWORD is set.",
            hint="An SMTP login needs both; unset both for a server without authentication.",
            id="mautomation.E002",
        )
    ]


@register()
def tls_modes_are_exclusive(app_configs, **kwargs) -> list:
    if not (settings.EMAIL_USE_TLS and settings.EMAIL_USE_SSL):
        return []
    return [
        Error(
            "EMAIL_USE_TLS and EMAIL_USE_SSL are both on.",
            hint="Port 587 uses TLS, port 465 uses SSL.",
            id="mautomation.E003",
        )
    ]


@register(Tags.security, deploy=True)
def production_stack(app_configs, **kwargs) -> list:
    problems = []
    if not ESPS[settings.ESP].leaves_machine:
        problems.append(
            Warning(
                f"ESP={settings.ESP}: emails never leave this machine.",
                hint="Set ESP=smtp or an ESP such as sendgrid.",
                id="mautomation.W001",
            )
        )
    if settings.USING_SQLITE:
        problems.append(
            Warning(
                "The database is SQLite.", hint="Set DATABASE_URL=postgres://… for production.", id="mautomation.W002"
            )
        )
    if settings.EMBEDDED_BROKER:
        problems.append(
            Warning(
                "Celery uses the embedded filesystem broker, which cannot be shared by workers on other machines.",
                hint="Set REDIS_URL (or CELERY_BROKER_URL).",
                id="mautomation.W003",
            )
        )
    if settings.DEFAULT_FROM_EMAIL.rstrip(">").endswith("@localhost"):
        problems.append(
            Warning("DEFAULT_FROM_EMAIL is a localhost address.", hint="Set DEFAULT_FROM_EMAIL.", id="mautomation.W004")
        )
    return problems


@register(Tags.security, deploy=True)
def esp_webhooks_are_secured(app_configs, **kwargs) -> list:
    """Without a secret the ESP's tracking webhooks are refused, so bounces and complaints would go unnoticed."""
    if settings.ESP in ("file", "console", "smtp") or settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return []
    return [
        Warning(
            f"ESP={settings.ESP} but ANYMAIL_WEBHOOK_SECRET is not set: its bounce and complaint webhooks are refused.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and give the ESP "
            "https://user:password@YOUR-HOST/anymail/<esp>/tracking/ (see README).",
            id="mautomation.W005",
        )
    ]
