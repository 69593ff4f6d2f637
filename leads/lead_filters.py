"""How the lead list narrows: the sidebar's filters and the search box's own terms.

Besides Django's search over names, email, company and phone, the search box reads
custom.KEY:VALUE terms (a custom field, typed as its definition says) and phone
numbers as people type them (dashes, full-width digits), which become phone keys.
"""

import re

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from leads.forms import as_id
from leads.models import CustomField
from leads.validation import clean_custom
from mautomation.lib.normalize import phone_key
from mautomation.roles import SALES

_CUSTOM_TERM = re.compile(r'custom\.(?P<key>[\w-]+):(?P<value>"[^"]*"|\S+)')


def assignable_users() -> QuerySet:
    """Who may own a lead: staff users and members of the sales group."""
    users = get_user_model().objects.filter(Q(is_staff=True) | Q(groups__name=SALES), is_active=True)
    return users.distinct().order_by("username")


class ScoreRangeFilter(admin.SimpleListFilter):
    title = _("score")
    parameter_name = "score_range"
    RANGES = {
        "0": (_("0 or less"), Q(score__lte=0)),
        "1-19": (_("1–19"), Q(score__gte=1, score__lte=19)),
        "20-49": (_("20–49"), Q(score__gte=20, score__lte=49)),
        "50+": (_("50 or more"), Q(score__gte=50)),
    }

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, label) for value, (label, _query) in self.RANGES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        chosen = self.RANGES.get(self.value() or "")
        return queryset.filter(chosen[1]) if chosen else queryset


class OwnerFilter(admin.SimpleListFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        users = [(str(user.pk), user.get_username()) for user in assignable_users()]
        return [("none", _("No owner")), *users]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or ""
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=as_id(value)) if as_id(value) is not None else queryset


class CustomFieldFilter(admin.SimpleListFilter):
    """key=value pairs of the choice fields; other kinds are searched with custom.KEY:VALUE."""

    title = _("custom field")
    parameter_name = "custom"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        fields = CustomField.objects.filter(kind=CustomField.Kind.CHOICE)
        return [(f"{field.key}={choice}", f"{field.label}: {choice}") for field in fields for choice in field.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        key, _sep, value = self.value().partition("=")
        field = CustomField.objects.filter(key=key).first()
        return filter_custom(queryset, field=field, value=value, alias="custom_filter")


def split_custom_terms(search_term: str) -> tuple[list[tuple[str, str]], str]:
    """The custom.KEY:VALUE (or custom.KEY:"two words") terms, and the rest of the search."""
    terms = [(match["key"], match["value"].strip('"')) for match in _CUSTOM_TERM.finditer(search_term)]
    return terms, _CUSTOM_TERM.sub(" ", search_term).strip()


def filter_custom(leads: QuerySet, *, field: CustomField | None, value: str, alias: str) -> QuerySet:
    """Text fields match a part, case-insensitively; others the value typed as clean_custom types it."""
    if field is None:
        return leads.none()
    if field.kind == CustomField.Kind.TEXT:
        return leads.alias(**{alias: KeyTextTransform(field.key, "custom")}).filter(**{f"{alias}__icontains": value})
    typed, reason = clean_custom(field, value)
    if reason or typed == "":
        return leads.none()
    return leads.alias(**{alias: KeyTransform(field.key, "custom")}).filter(**{alias: typed})


def with_phone_keys(search_term: str) -> str:
    """Phone numbers typed with dashes or full-width digits, as the phone keys they are stored under."""
    return " ".join(_as_phone_key(word) for word in search_term.split())


def _as_phone_key(word: str) -> str:
    key = phone_key(word)
    return key if key.isdigit() and len(key) >= 4 else word
