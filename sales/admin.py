"""Sales in the admin, for marketers: opportunities, notes, leads returned by sales, and the CRM webhooks."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sales import access, webhooks
from sales.models import (
    AttributionTouch,
    DigestSent,
    Handback,
    Note,
    Opportunity,
    OpportunityStageChange,
    WebhookDelivery,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: shown, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StageChangeInline(admin.TabularInline):
    model = OpportunityStageChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_stage", "to_stage", "at", "by"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TouchInline(StageChangeInline):
    model = AttributionTouch
    readonly_fields = ["role", "kind", "campaign_id", "form_id", "occurred_at"]
    fields = readonly_fields


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "amount", "stage", "expected_close", "owner", "updated_at"]
    list_filter = ["stage", "owner"]
    search_fields = ["name", "lead__email", "lead__company_name"]
    list_select_related = ["lead", "owner"]
    raw_id_fields = ["lead", "company"]
    readonly_fields = ["stage", "created_at", "updated_at", "closed_at"]
    inlines = [StageChangeInline, TouchInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Opportunity]:
        # A sales user who is also staff sees here what the workspace shows them: their own.
        return super().get_queryset(request) & access.visible_opportunities(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a conversion (workspace or API) records the history and the attribution


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ["lead", "kind", "author", "at"]
    list_filter = ["kind"]
    search_fields = ["lead__email", "body"]
    list_select_related = ["lead", "author"]


@admin.register(Handback)
class HandbackAdmin(ReadOnlyAdmin):
    """Why sales returned leads: the feedback marketing nurtures with."""

    list_display = ["lead", "kind", "reason", "comment", "score_before", "by", "at"]
    list_filter = ["kind", "reason", "at"]
    search_fields = ["lead__email", "lead__company_name", "comment"]
    list_select_related = ["lead", "by"]


@admin.register(DigestSent)
class DigestSentAdmin(ReadOnlyAdmin):
    list_display = ["owner", "day", "leads", "sent_at"]
    list_filter = ["day"]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(assume_scheme="https", max_length=500, label=_("URL"))
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple, label=_("events")
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "secret", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "events", "active"]


@admin.action(description=_("Send again"), permissions=["change"])
def send_again(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
    ids = list(queryset.values_list("pk", flat=True))
    queryset.update(status=WebhookDelivery.Status.PENDING, attempts=0)
    for delivery_id in ids:
        webhooks.dispatch(delivery_id)
    count = len(ids)
    messages.success(
        request, ngettext("%(count)d delivery queued.", "%(count)d deliveries queued.", count) % {"count": count}
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "endpoint", "status", "response_code", "attempts", "last_attempt_at", "created_at"]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    readonly_fields = ["endpoint", "event", "payload", "status", "attempts", "response_code", "error"]
    readonly_fields += ["created_at", "last_attempt_at"]
    actions = [send_again]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The "send again" action needs it; the form itself has only read-only fields.
        return request.user.has_perm("sales.change_webhookdelivery")
