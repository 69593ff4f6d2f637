from django.contrib import admin

from landing.models import Form, LandingPage


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "published", "form")
    list_filter = ("published",)
