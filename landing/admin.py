from django.contrib import admin

from landing.models import Form, LandingPage, Submission


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "published", "updated_at")
    list_filter = ("published",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "published_at", "updated_at")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "form", "lead", "embedded")
    list_filter = ("form", "embedded")
    list_select_related = ("form", "lead")
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
