"""Which email service provider (ESP) sends mail, chosen with the ESP variable.

A lookup table, in the manner of healthchecks' transports: each entry names the
Django email backend and the settings it cannot work without. The system check
in mautomation/checks.py reports an ESP named without its keys.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Esp:
    backend: str
    required: tuple[str, ...] = ()
    anymail_keys: tuple[str, ...] = field(default=())
    leaves_machine: bool = True


ESPS: dict[str, Esp] = {
    # Local choices for a newcomer: nothing leaves the machine.
    "file": Esp("django.core.mail.backends.filebased.EmailBackend", leaves_machine=False),
    "console": Esp("django.core.mail.backends.console.EmailBackend", leaves_machine=False),
    "smtp": Esp("django.core.mail.backends.smtp.EmailBackend", ("EMAIL_HOST",)),
    "amazon_ses": Esp("anymail.backends.amazon_ses.EmailBackend"),
    "brevo": Esp("anymail.backends.brevo.EmailBackend", ("BREVO_API_KEY",), ("BREVO_API_KEY",)),
    "mailgun": Esp(
        "anymail.backends.mailgun.EmailBackend",
        ("MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN"),
        ("MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN", "MAILGUN_WEBHOOK_SIGNING_KEY"),
    ),
    "mailjet": Esp(
        "anymail.backends.mailjet.EmailBackend",
        ("MAILJET_API_KEY", "MAILJET_SECRET_KEY"),
        ("MAILJET_API_KEY", "MAILJET_SECRET_KEY"),
    ),
    "postmark": Esp("anymail.backends.postmark.EmailBackend", ("POSTMARK_SERVER_TOKEN",), ("POSTMARK_SERVER_TOKEN",)),
    "resend": Esp("anymail.backends.resend.EmailBackend", ("RESEND_API_KEY",), ("RESEND_API_KEY",)),
    "sendgrid": Esp("anymail.backends.sendgrid.EmailBackend", ("SENDGRID_API_KEY",), ("SENDGRID_API_KEY",)),
    "sparkpost": Esp("anymail.backends.sparkpost.EmailBackend", ("SPARKPOST_API_KEY",), ("SPARKPOST_API_KEY",)),
}


def missing_keys(esp: str, environ: dict[str, str]) -> list[str]:
    """The settings an ESP needs that the environment leaves empty."""
    return [key for key in ESPS[esp].required if not environ.get(key, "").strip()]


def anymail_settings(esp: str, environ: dict[str, str]) -> dict[str, str]:
    settings = {key: environ[key] for key in ESPS[esp].anymail_keys if environ.get(key)}
    if environ.get("ANYMAIL_WEBHOOK_SECRET"):
        settings["WEBHOOK_SECRET"] = environ["ANYMAIL_WEBHOOK_SECRET"]
    return settings
