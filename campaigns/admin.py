from django.contrib import admin

from campaigns.models import Campaign, EmailTemplate, Send, SenderIdentity


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "updated_at")
    search_fields = ("name", "subject")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "status", "scheduled_at", "created_at")
    list_filter = ("content_type", "status")
    search_fields = ("name",)
    list_select_related = ("template",)


@admin.register(Send)
class SendAdmin(admin.ModelAdmin):
    list_display = ("email", "source", "status", "attempts", "sent_at", "error")
    list_filter = ("status",)
    search_fields = ("email", "source", "message_id")
    raw_id_fields = ("lead", "campaign")


@admin.register(SenderIdentity)
class SenderIdentityAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return not SenderIdentity.objects.exists()


from campaigns import automation_admin  # noqa: E402, F401  (sequences, enrollments, triggers: issue 7)
