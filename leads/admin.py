from django.contrib import admin

from leads.models import Activity, Company, Lead


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "created_at")
    search_fields = ("name", "domain")


class ActivityInline(admin.TabularInline):
    model = Activity
    fields = ("occurred_at", "kind", "url", "campaign_id", "form_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-occurred_at",)
    max_num = 0


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "last_name",
        "first_name",
        "company",
        "stage",
        "score",
        "owner",
        "email_status",
        "last_activity_at",
    )
    list_filter = ("stage", "email_status", "owner", "source")
    list_select_related = ("company", "owner")
    search_fields = ("email_key", "last_name", "first_name", "company_name", "phone_key")
    autocomplete_fields = ("company",)
    readonly_fields = ("score", "created_at", "updated_at", "last_activity_at")
    inlines = [ActivityInline]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "lead", "url", "processed_at")
    list_filter = ("kind",)
    list_select_related = ("lead",)
    raw_id_fields = ("lead",)
    date_hierarchy = "occurred_at"
