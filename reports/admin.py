from django.contrib import admin

from reports.models import KpiTarget


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    list_display = ("metric", "monthly_target", "purpose", "updated_at")
    fields = ("metric", "monthly_target", "purpose")
