"""The marketer's lead admin: lists with filters, the lead page with its history, merging, consent.

The lead list's own filters and search terms are in leads/lead_filters.py.

User data shown here (names, companies, URLs, activity data) goes through the
template engine's escaping or format_html, never mark_safe.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from leads.companies import company_for
from leads.consents import revoke_consents
from leads.duplicates import possible_duplicates
from leads.exporting import export_as_csv, export_as_csv_cp932
from leads.forms import (
    MAX_MERGE,
    CustomFieldForm,
    LeadAdminForm,
    MergeForm,
    RevokeConsentForm,
    custom_field_name,
    lead_admin_form,
    leads_to_merge,
)
from leads.lead_filters import (
    CustomFieldFilter,
    OwnerFilter,
    ScoreRangeFilter,
    assignable_users,
    filter_custom,
    split_custom_terms,
    with_phone_keys,
)
from leads.list_admin import ListFilter, SegmentFilter, add_to_list_action, remove_from_list_action
from leads.merging import merge_leads
from leads.models import Activity, Company, Consent, CustomField, Lead, MergeRecord, Tag

TIMELINE_LIMIT = 200


def safe_href(url: str) -> str | None:
    """The URL when it may be a link (http or https); javascript: and the like stay plain text."""
    return url if urlsplit(url.strip()).scheme.lower() in {"http", "https"} else None


def _with_lead_count(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(lead_count=Count("leads", distinct=True))


def _leads_link(count: int, **filters: object) -> str:
    return format_html('<a href="{}?{}">{}</a>', reverse("admin:leads_lead_changelist"), urlencode(filters), count)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "industry", "employees", "lead_count", "created_at")
    search_fields = ("name", "domain")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _with_lead_count(super().get_queryset(request))

    @admin.display(description=_("leads"), ordering="lead_count")
    def lead_count(self, company: Company) -> str:
        return _leads_link(company.lead_count, company__id__exact=company.pk)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "lead_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _with_lead_count(super().get_queryset(request))

    @admin.display(description=_("leads"), ordering="lead_count")
    def lead_count(self, tag: Tag) -> str:
        return _leads_link(tag.lead_count, tags__id__exact=tag.pk)


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    form = CustomFieldForm
    list_display = ("label", "key", "kind")
    search_fields = ("label", "key")

    def get_readonly_fields(self, request: HttpRequest, obj: CustomField | None = None) -> tuple[str, ...]:
        # Values live in Lead.custom under the key: renaming it would orphan them.
        return ("key",) if obj else ()


@dataclass(frozen=True)
class TimelineRow:
    kind: str
    occurred_at: datetime
    url: str
    href: str | None
    data: str


def timeline(lead: Lead) -> list[TimelineRow]:
    activities = lead.activities.order_by("-occurred_at", "-pk")[: TIMELINE_LIMIT + 1]
    return [
        TimelineRow(
            kind=activity.get_kind_display(),
            occurred_at=activity.occurred_at,
            url=activity.url,
            href=safe_href(activity.url),
            data=json.dumps(activity.data, ensure_ascii=False, sort_keys=True) if activity.data else "",
        )
        for activity in activities
    ]


def lead_history(lead: Lead) -> dict:
    """What the lead page shows below the form: timeline, consents, merges."""
    rows = timeline(lead)
    return {
        "timeline": rows[:TIMELINE_LIMIT],
        "timeline_truncated": len(rows) > TIMELINE_LIMIT,
        "timeline_limit": TIMELINE_LIMIT,
        "activities_url": reverse("admin:leads_activity_changelist") + f"?lead__id__exact={lead.pk}",
        "consents": list(lead.consents.all()),
        "merges": list(MergeRecord.objects.filter(winner=lead).select_related("merged_by").order_by("-merged_at")),
    }


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = (
        "email",
        "name",
        "company",
        "stage",
        "score",
        "owner",
        "email_status",
        "consent",
        "last_activity_at",
    )
    list_filter = (
        "stage",
        ScoreRangeFilter,
        OwnerFilter,
        ("company", admin.RelatedOnlyFieldListFilter),
        "email_status",
        "consent",
        "tags",
        CustomFieldFilter,
        ListFilter,
        SegmentFilter,
    )
    list_select_related = ("company", "owner")
    search_fields = (
        "email_key",
        "last_name",
        "first_name",
        "last_name_kana",
        "first_name_kana",
        "company_name",
        "company__name",
        "phone_key",
    )
    search_help_text = _("Name, email, company or phone; custom.KEY:VALUE searches a custom field.")
    autocomplete_fields = ("company", "tags")
    readonly_fields = ("consent", "score", "first_touch", "last_touch", "created_at", "updated_at", "last_activity_at")
    actions = ["merge_selected", export_as_csv, export_as_csv_cp932, add_to_list_action, remove_from_list_action]
    fieldsets = (
        (None, {"fields": ("email", ("last_name", "first_name"), ("last_name_kana", "first_name_kana"))}),
        (_("Company"), {"fields": ("company", "company_name", "department", "title", "phone")}),
        (_("Marketing"), {"fields": ("stage", "owner", "source", "tags", "email_status", "consent", "score")}),
    )
    tracking = (
        _("Tracking"),
        {
            "fields": ("first_touch", "last_touch", "created_at", "updated_at", "last_activity_at"),
            "classes": ["collapse"],
        },
    )

    @admin.display(description=_("name"), ordering="last_name")
    def name(self, lead: Lead) -> str:
        return lead.display_name

    @admin.display(description=_("Custom fields"))
    def custom_values(self, lead: Lead) -> str:
        labels = dict(CustomField.objects.values_list("key", "label"))
        rows = [(labels.get(key, key), value) for key, value in sorted((lead.custom or {}).items())]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows)) if rows else "-"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        terms, rest = split_custom_terms(search_term)
        fields = {field.key: field for field in CustomField.objects.filter(key__in=[key for key, _v in terms])}
        for number, (key, value) in enumerate(terms):
            queryset = filter_custom(queryset, field=fields.get(key), value=value, alias=f"custom_search_{number}")
        return super().get_search_results(request, queryset, with_phone_keys(rest))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs) -> forms.ModelChoiceField | None:
        if db_field.name == "owner":
            kwargs["queryset"] = assignable_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Lead, form: forms.ModelForm, change: bool) -> None:
        if not change and obj.company_id is None:  # as every other ingest path does
            obj.company = company_for(email=obj.email, company_name=obj.company_name)
        super().save_model(request, obj, form, change)

    def get_fieldsets(self, request: HttpRequest, obj: Lead | None = None) -> list:
        if not self._editable(request, obj):
            return [*self.fieldsets, (_("Custom fields"), {"fields": ["custom_values"]}), self.tracking]
        names = [custom_field_name(field.key) for field in self._custom_fields(request)]
        custom = [(_("Custom fields"), {"fields": names})] if names else []
        return [*self.fieldsets, *custom, self.tracking]

    def get_form(self, request: HttpRequest, obj: Lead | None = None, change: bool = False, **kwargs) -> type:
        if self._editable(request, obj):
            kwargs["form"] = lead_admin_form(self._custom_fields(request))
        return super().get_form(request, obj, change, **kwargs)

    def render_change_form(
        self, request: HttpRequest, context: dict, add=False, change=False, form_url="", obj: Lead | None = None
    ) -> HttpResponse:
        if obj is not None:
            context.update(lead_history(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list:
        own = [
            path("duplicates/", self.admin_site.admin_view(self.duplicates_view), name="leads_lead_duplicates"),
            path("merge/", self.admin_site.admin_view(self.merge_view), name="leads_lead_merge"),
        ]
        return own + super().get_urls()

    def duplicates_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        merge_url = reverse("admin:leads_lead_merge")
        groups = [
            (group, f"{merge_url}?{urlencode([('ids', lead.pk) for lead in group.leads])}")
            for group in possible_duplicates()
        ]
        context = {"title": _("Possible duplicates"), "groups": groups, "can_merge": self.can_merge(request)}
        return TemplateResponse(request, "admin/leads/lead/duplicates.html", self._context(request, context))

    @admin.action(description=_("Merge selected leads"), permissions=["change", "delete"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        leads = list(queryset.select_related("company", "owner").order_by("created_at", "pk")[: MAX_MERGE + 1])
        return self._merge_page(request, MergeForm(leads=leads))

    def merge_view(self, request: HttpRequest) -> HttpResponse:
        if not self.can_merge(request):
            raise PermissionDenied
        if request.method == "POST":
            form = MergeForm(request.POST, leads=leads_to_merge(request.POST.getlist("ids")))
            if form.is_valid():
                return self._merge(request, form)
        else:
            form = MergeForm(leads=leads_to_merge(request.GET.getlist("ids")))
        return self._merge_page(request, form) or HttpResponseRedirect(reverse("admin:leads_lead_changelist"))

    def can_merge(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and self.has_delete_permission(request)

    def _merge_page(self, request: HttpRequest, form: MergeForm) -> HttpResponse | None:
        """The confirmation page; None (after a message) when the selection cannot be merged."""
        if not 2 <= len(form.leads) <= MAX_MERGE:
            message = _("Select between 2 and %(max)d leads to merge.") % {"max": MAX_MERGE}
            self.message_user(request, message, messages.ERROR)
            return None
        context = {
            "title": _("Merge leads"),
            "form": form,
            "leads": form.leads,
            "chosen": str(form["winner"].value()),
            "merge_url": reverse("admin:leads_lead_merge"),
        }
        return TemplateResponse(request, "admin/leads/lead/merge.html", self._context(request, context))

    def _merge(self, request: HttpRequest, form: MergeForm) -> HttpResponse:
        winner, losers = form.cleaned_data["winner"], form.losers
        try:
            merge_leads(winner=winner, losers=losers, user=request.user)
        except ValueError:  # the form rules out the rest: a lead vanished meanwhile
            message = _("The leads could not be merged: one of them was merged or deleted meanwhile.")
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:leads_lead_changelist"))
        emails = ", ".join(loser.email for loser in losers)
        self.log_change(request, winner, _("Merged %(emails)s into this lead.") % {"emails": emails})
        self.message_user(request, _("Merged %(emails)s into %(lead)s.") % {"emails": emails, "lead": winner.email})
        return HttpResponseRedirect(reverse("admin:leads_lead_change", args=[winner.pk]))

    def _context(self, request: HttpRequest, extra: dict) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.opts, **extra}

    def _editable(self, request: HttpRequest, obj: Lead | None) -> bool:
        return self.has_change_permission(request, obj) if obj else self.has_add_permission(request)

    def _custom_fields(self, request: HttpRequest) -> list[CustomField]:
        # Cached on the request: the fieldsets and the form both need them.
        if not hasattr(request, "_lead_custom_fields"):
            request._lead_custom_fields = list(CustomField.objects.order_by("label", "pk"))
        return request._lead_custom_fields


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Append-only: everyone with access reads it; only superusers may add, change or delete rows."""

    list_display = ("occurred_at", "kind", "lead", "url", "processed_at")
    list_filter = ("kind",)
    list_select_related = ("lead",)
    raw_id_fields = ("lead",)
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Activity | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Activity | None = None) -> bool:
        return request.user.is_superuser


@transaction.atomic
@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Evidence of consent: never added, edited or deleted here, only revoked."""

    list_display = ("lead", "method", "source", "granted_at", "revoked_at", "revoked_reason")
    list_filter = ("method", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("lead",)
    search_fields = ("lead__email_key", "source")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Consent | None = None) -> list[str]:
        return [field.name for field in Consent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False

    @admin.action(description=_("Revoke selected consents"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = RevokeConsentForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = revoke_consents(consents=queryset, reason=form.cleaned_data["reason"])
            message = ngettext("%(count)d consent revoked.", "%(count)d consents revoked.", count)
            self.message_user(request, message % {"count": count})
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Revoke consents"),
            "form": form,
            "consents": queryset.select_related("lead"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/leads/consent/revoke.html", context)
