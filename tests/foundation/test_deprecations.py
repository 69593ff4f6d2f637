"""Nothing of ours depends on what Django 6.0 removes or changes; pyproject.toml makes such a warning an error."""

import warnings

import pytest
from django.contrib import admin
from django.test import Client
from django.utils.deprecation import RemovedInDjango60Warning

from campaigns.models import SenderIdentity
from scoring.models import ScoringSettings
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_every_admin_form_builds_without_a_django_6_deprecation(rf):
    """A URLField of a model gets its form field's scheme from us, not from Django's changing default;
    every admin form is built here, whether or not another test opens its page."""
    request = rf.get("/admin/")
    request.user = make_user("root", superuser=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RemovedInDjango60Warning)
        for model_admin in admin.site._registry.values():
            model_admin.get_form(request)
            for inline in model_admin.get_inline_instances(request):
                inline.get_formset(request)


def test_a_url_typed_without_a_scheme_is_stored_as_https_like_in_every_other_admin_form():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_user("root", superuser=True))
    ScoringSettings.load()  # the one row, as the admin's list page makes it
    initial = client.get("/admin/scoring/scoringsettings/1/change/").context["adminform"].form.initial
    data = {**{name: "" if value is None else value for name, value in initial.items()}}
    response = client.post("/admin/scoring/scoringsettings/1/change/", {**data, "webhook_url": "hooks.example.com/a"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert ScoringSettings.load().webhook_url == "https://hooks.example.com/a"
    sender = {"name": "株式会社サンプル", "postal_address": "東京都千代田区1-1", "contact_url": "example.co.jp/contact"}
    response = client.post("/admin/campaigns/senderidentity/add/", sender)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert SenderIdentity.objects.get().contact_url == "https://example.co.jp/contact"
