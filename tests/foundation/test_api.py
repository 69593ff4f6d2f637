"""The API foundation: token authentication, the OpenAPI schema, and the token command."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from mautomation.roles import MARKETER
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_me_answers_with_the_token_owner_and_roles(client):
    user = make_user("hanako", role=MARKETER)
    token = Token.objects.create(user=user)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json() == {"username": "hanako", "roles": [MARKETER], "is_superuser": False}


@pytest.mark.parametrize("header", [None, "Token not-a-real-token", "Bearer abc", "Token " + "x" * 5000])
def test_requests_without_a_valid_token_are_401(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/me/", **extra)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_openapi_schema_is_served(client):
    make_user("reader")
    client.force_login(make_user("admin", superuser=True))
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]


def test_create_api_token_prints_the_key_and_is_stable(capsys):
    make_user("taro")
    call_command("create_api_token", "taro")
    first = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("create_api_token", "taro")
    assert capsys.readouterr().out.strip().splitlines()[-1] == first == Token.objects.get(user__username="taro").key


def test_create_api_token_reset_replaces_the_key(capsys):
    make_user("taro")
    call_command("create_api_token", "taro")
    first = capsys.readouterr().out.strip()
    call_command("create_api_token", "taro", "--reset")
    assert capsys.readouterr().out.strip() != first
    assert Token.objects.filter(user__username="taro").count() == 1


def test_create_api_token_for_unknown_user_says_so():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")
