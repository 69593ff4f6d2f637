"""System checks reject half-configured settings."""

from mautomation import checks


def test_esp_named_without_its_key_is_an_error(settings, monkeypatch):
    settings.ESP = "sendgrid"
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    [error] = checks.esp_is_complete(None)
    assert error.id == "mautomation.E001"
    assert "SENDGRID_API_KEY" in error.msg


def test_esp_with_all_keys_passes(settings, monkeypatch):
    settings.ESP = "mailgun"
    monkeypatch.setenv("MAILGUN_API_KEY", "key-1")
    monkeypatch.setenv("MAILGUN_SENDER_DOMAIN", "mg.example.com")
    assert checks.esp_is_complete(None) == []


def test_smtp_user_without_password_is_an_error(settings):
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "ma", ""
    assert [e.id for e in checks.smtp_login_is_complete(None)] == ["mautomation.E002"]


def test_tls_and_ssl_together_is_an_error(settings):
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    assert [e.id for e in checks.tls_modes_are_exclusive(None)] == ["mautomation.E003"]


def test_local_email_in_production_is_a_deploy_warning(settings):
    settings.ESP = "file"
    assert "mautomation.W001" in [w.id for w in checks.production_stack(None)]


def test_an_esp_without_a_webhook_secret_is_a_deploy_warning(settings):
    settings.ESP, settings.ANYMAIL = "sendgrid", {"SENDGRID_API_KEY": "k"}
    assert [w.id for w in checks.esp_webhooks_are_secured(None)] == ["mautomation.W005"]
    settings.ANYMAIL = {"SENDGRID_API_KEY": "k", "WEBHOOK_SECRET": "user:pass"}
    assert checks.esp_webhooks_are_secured(None) == []
    settings.ESP, settings.ANYMAIL = "smtp", {}
    assert checks.esp_webhooks_are_secured(None) == []
