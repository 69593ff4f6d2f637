from django.contrib import admin

from scoring.models import ScoringRule


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "event_kind", "url_match", "url_pattern", "points", "active")
    list_filter = ("event_kind", "active")
    list_editable = ("active",)
