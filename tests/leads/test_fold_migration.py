"""Migration 0009: addresses stored full-width before clean_email folded them become deliverable."""

import importlib

import pytest
from django.apps import apps

from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db
migration = importlib.import_module("leads.migrations.0009_fold_full_width_emails")


def test_full_width_addresses_are_folded_and_the_others_left_alone():
    legacy = make_lead("Ｓｕｚｕｋｉ＠ｂｅｔａ．ｅｘａｍｐｌｅ．ｊｐ")
    international = make_lead("太郎@例え.jp")  # not ASCII once folded either: kept as it is
    plain = make_lead("Taro@Example.jp")
    key = legacy.email_key
    migration.fold_addresses(apps, None)
    emails = dict(Lead.objects.values_list("pk", "email"))
    assert [emails[lead.pk] for lead in (legacy, international, plain)] == [
        "Suzuki@beta.example.jp", "太郎@例え.jp", "Taro@Example.jp"]  # fmt: skip
    assert Lead.objects.get(pk=legacy.pk).email_key == key == "suzuki@beta.example.jp"
