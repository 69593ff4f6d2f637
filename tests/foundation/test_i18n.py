"""The admin speaks Japanese and English, chosen by the browser or the language switcher."""

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_japanese_is_the_default_language(client):
    response = client.get("/admin/login/")
    assert response["Content-Language"] == "ja"
    assert "ログイン" in response.content.decode()


def test_browser_language_english_is_honoured(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "en"
    assert "Log in" in response.content.decode()


def test_our_own_labels_are_translated(client):
    client.force_login(make_user("admin", superuser=True))
    japanese = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "スコアリングルール" in japanese and "リード" in japanese
    assert "Scoring rules" in english and "Leads" in english


def test_language_switcher_sets_the_language_and_returns_to_the_page(client):
    client.force_login(make_user("admin", superuser=True))
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/leads/lead/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/leads/lead/"
    assert client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ja")["Content-Language"] == "en"


def test_language_switcher_refuses_an_open_redirect(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_time_zone_defaults_to_tokyo(settings):
    assert settings.TIME_ZONE == "Asia/Tokyo"
    assert settings.USE_TZ is True
