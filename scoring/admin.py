from django.apps import apps
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count, Max, Sum
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from leads.models import Lead
from scoring.models import CompanyScore, FitRule, ScoreEntry, ScoringRule, ScoringSettings
from scoring.tasks import rescore_all


def optional_choices(app_label: str, model_name: str) -> list[tuple[str, str]]:
    """(id, name) choices of another app's objects, looked up by name so scoring does not import that app."""
    model = apps.get_model(app_label, model_name)
    return [("", _("(any)"))] + [(str(obj.pk), str(obj)) for obj in model.objects.order_by("pk")[:500]]


@admin.action(description=_("Recompute every lead's score with the current rules"), permissions=["change"])
def rescore_now(modeladmin, request: HttpRequest, queryset) -> None:
    transaction.on_commit(rescore_all.delay)
    modeladmin.message_user(request, _("Rescoring started; scores update in the background."), messages.SUCCESS)


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "event_kind", "url_match", "url_pattern", "points", "frequency", "active")
    list_filter = ("event_kind", "frequency", "active")
    list_editable = ("active",)
    search_fields = ("name", "url_pattern")
    actions = [rescore_now]
    fieldsets = [
        (None, {"fields": ["name", "event_kind", "points", "frequency", "active"]}),
        (_("Conditions"), {"fields": ["url_match", "url_pattern", "form_id", "campaign_id", "event_name"]}),
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        from django import forms

        sources = {"form_id": ("landing", "Form"), "campaign_id": ("campaigns", "Campaign")}
        if db_field.name in sources:
            return forms.TypedChoiceField(
                choices=optional_choices(*sources[db_field.name]), coerce=int, empty_value=None, required=False,
                label=db_field.verbose_name,
            )  # fmt: skip
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        hint = _(
            "Existing scores are unchanged: the action “Recompute every lead's score” applies rules to past activity."
        )
        self.message_user(request, hint, messages.INFO)


@admin.register(FitRule)
class FitRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "field", "operator", "value", "points", "active")
    list_filter = ("field", "active")
    list_editable = ("active",)
    actions = [rescore_now]


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
    """A single row: the list page opens it directly."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Slack-compatible webhooks are https

    def changelist_view(self, request, extra_context=None):
        ScoringSettings.load()
        return HttpResponseRedirect(reverse("admin:scoring_scoringsettings_change", args=[1]))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScoreEntry)
class ScoreEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "lead", "points", "reason", "kind", "rule")
    list_filter = ("kind", "rule")
    list_select_related = ("lead", "rule")
    search_fields = ("lead__email_key", "reason")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ScoreEntryInline(admin.TabularInline):
    """The ledger on the lead's page: why it has its score."""

    model = ScoreEntry
    fk_name = "lead"
    fields = ("created_at", "points", "reason", "kind")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("score ledger")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rule")


@admin.register(CompanyScore)
class CompanyScoreAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "score", "leads")
    search_fields = ("name", "domain")

    def get_queryset(self, request):
        aggregate = Max if ScoringSettings.load().company_score == ScoringSettings.CompanyScore.MAX else Sum
        return (
            super()
            .get_queryset(request)
            .annotate(total=aggregate("leads__score"), lead_count=Count("leads"))
            .order_by("-total")
        )

    @admin.display(description=_("score"), ordering="total")
    def score(self, obj) -> int:
        return obj.total or 0

    @admin.display(description=_("leads"), ordering="lead_count")
    def leads(self, obj) -> int:
        return obj.lead_count

    def has_add_permission(self, request) -> bool:
        return False


# The lead page is the leads app's; scoring adds its ledger to it (leads imports no other app).
if Lead in admin.site._registry:
    lead_admin = admin.site._registry[Lead]
    lead_admin.inlines = [*lead_admin.inlines, ScoreEntryInline]
