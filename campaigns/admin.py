from django.contrib import admin

from campaigns.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "status", "scheduled_at", "created_at")
    list_filter = ("content_type", "status")
    search_fields = ("name", "subject")
