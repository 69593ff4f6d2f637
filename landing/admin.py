"""The marketer's builders: forms (fields by drag and drop) and landing pages (blocks, draft and publish).

Both builders are JavaScript widgets that write the same JSON the server
validates (landing.definitions.field_problems, landing.builder.block_problems);
the server never trusts the widget.
"""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from landing import builder
from landing.definitions import DEFAULT_TOKENS, FIELD_TYPES, field_problems
from landing.models import Form, LandingPage, Submission
from leads.models import CustomField
from leads.validation import TEXT_FIELDS

LEAD_FIELDS = ("email", *TEXT_FIELDS)
BLOCK_LABELS = {
    "hero": gettext_lazy("Hero"),
    "text": gettext_lazy("Text"),
    "image": gettext_lazy("Image"),
    "cta": gettext_lazy("Call to action"),
    "form": gettext_lazy("Form"),
    "features": gettext_lazy("Features"),
    "testimonial": gettext_lazy("Testimonial"),
    "logos": gettext_lazy("Logos"),
    "columns": gettext_lazy("Columns"),
    "html": gettext_lazy("Raw HTML (superusers)"),
}
PROP_LABELS = {
    "title": gettext_lazy("Title"),
    "text": gettext_lazy("Text"),
    "image_url": gettext_lazy("Image URL"),
    "button_text": gettext_lazy("Button text"),
    "button_url": gettext_lazy("Button URL"),
    "url": gettext_lazy("URL"),
    "alt": gettext_lazy("Alternative text"),
    "form": gettext_lazy("Form"),
    "items": gettext_lazy("Items"),
    "quote": gettext_lazy("Quote"),
    "name": gettext_lazy("Name"),
    "company": gettext_lazy("Company"),
    "images": gettext_lazy("Logos"),
    "columns": gettext_lazy("Columns (2 or 3)"),
    "html": gettext_lazy("HTML"),
}


class JSONBuilderWidget(forms.Widget):
    """A hidden textarea holding the JSON, and a mount point that a builder script fills in."""

    template_name = "admin/landing/widgets/builder.html"
    builder = ""

    def __init__(self, config: dict | None = None, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.config = config or {}

    def format_value(self, value: object) -> str:
        if value in (None, ""):
            return "[]"
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def render(self, name: str, value: object, attrs: dict | None = None, renderer=None) -> str:
        # The project's template engine, not the form renderer: the template lives in templates/admin/.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        config_id = f"{context['widget']['attrs'].get('id', name)}_config"
        context["widget"].update(builder=self.builder, config=self.config, config_id=config_id)
        return context


class FormBuilderWidget(JSONBuilderWidget):
    builder = "form"

    class Media:
        css = {"all": ["landing/builder.css"]}
        js = ["landing/vendor/Sortable.min.js", "landing/builder-common.js", "landing/form-builder.js"]


class PageBuilderWidget(JSONBuilderWidget):
    builder = "page"

    class Media:
        css = {"all": ["landing/builder.css"]}
        js = ["landing/vendor/Sortable.min.js", "landing/builder-common.js", "landing/page-builder.js"]


def form_builder_config() -> dict:
    return {
        "types": [[kind, kind] for kind in FIELD_TYPES],
        "maps_to": maps_to_choices(),
        "hidden_defaults": list(DEFAULT_TOKENS),
        "text": {
            "add": _("Add field"),
            "type": _("Type"),
            "label": _("Label"),
            "label_hidden": _("Label (not shown)"),
            "placeholder": _("Placeholder"),
            "help": _("Help text"),
            "required": _("Required"),
            "options": _("Options (one per line)"),
            "options_hint": _("One option per line"),
            "max_length": _("Max length"),
            "maps_to": _("Saves to lead field"),
            "default": _("Value"),
            "fixed_value": _("A fixed value:"),
            "wording": _("Consent wording (the box is never pre-checked)"),
            "untitled": _("(no label yet)"),
            "drag": _("Drag to reorder"),
            "remove": _("Remove"),
        },
    }


def page_builder_config(user) -> dict:
    types = {
        kind: [
            [name, prop.kind, prop.required, [item for item, _prop in prop.item_props]] for name, prop in props.items()
        ]
        for kind, props in builder.BLOCK_TYPES.items()
    }
    return {
        "types": types,
        "type_labels": {kind: str(label) for kind, label in BLOCK_LABELS.items()},
        "prop_labels": {name: str(label) for name, label in PROP_LABELS.items()},
        "forms": list(Form.objects.filter(published=True).values_list("slug", "name")),
        "html_allowed": bool(getattr(user, "is_superuser", False)),
        "text": {
            "add": _("Add block"),
            "type": _("Block type"),
            "drag": _("Drag to reorder"),
            "remove": _("Remove"),
            "choose_form": _("Choose a published form"),
            "items_hint": _("One per line:"),
            "html_locked": _("Raw HTML: only a superuser can change it."),
        },
    }


def maps_to_choices() -> list[list[str]]:
    """Where a form field's value may go: a lead field, a custom field, or nowhere."""
    custom = [
        [f"custom:{key}", f"custom:{key} ({label})"] for key, label in CustomField.objects.values_list("key", "label")
    ]
    return [["", _("(not mapped)")], *[[name, name] for name in LEAD_FIELDS], *custom]


class FormAdminForm(forms.ModelForm):
    class Meta:
        model = Form
        fields = ("name", "slug", "published", "fields", "submit_label")  # the admin adds its fieldsets' fields

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fields"].widget = FormBuilderWidget(form_builder_config())

    def clean_fields(self) -> list:
        fields = self.cleaned_data.get("fields") or []
        problems = field_problems(fields)
        if problems:
            raise ValidationError(problems)
        return fields


class LandingPageAdminForm(forms.ModelForm):
    user = None  # set per request by LandingPageAdmin.get_form

    class Meta:
        model = LandingPage
        fields = ("title", "slug", "seo_title", "description", "og_image", "draft_blocks")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["draft_blocks"].widget = PageBuilderWidget(page_builder_config(self.user))

    def clean_draft_blocks(self) -> list:
        blocks = self.cleaned_data.get("draft_blocks") or []
        previous = self.instance.draft_blocks + self.instance.blocks  # html blocks a superuser already saved
        problems = builder.page_block_problems(blocks, user=self.user, previous=previous)
        if problems:
            raise ValidationError(problems)
        return blocks


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    form = FormAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "slug", "published", "updated_at")
    list_filter = ("published",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("embed_snippets",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "published", "fields", "submit_label")}),
        (
            gettext_lazy("After submitting"),
            {"fields": ("success_action", "success_message", "redirect_url", "asset", "asset_link_hours")},
        ),
        (
            gettext_lazy("Emails"),
            {"fields": ("auto_reply", "auto_reply_subject", "auto_reply_body", "notify_emails", "double_opt_in")},
        ),
        (
            gettext_lazy("Embedding and protection"),
            {"fields": ("embed_snippets", "allowed_origins", "min_fill_seconds")},
        ),
    )

    @admin.display(description=gettext_lazy("Hosted URL and embed code"))
    def embed_snippets(self, obj: Form) -> str:
        if not obj.pk:
            return _("Save the form to get its URL and embed code.")
        hosted = settings.SITE_URL + obj.get_absolute_url()
        script = f'<script src="{settings.SITE_URL}{reverse("landing:form-embed", args=[obj.slug])}" async></script>'
        iframe = f'<iframe src="{hosted}?embed=1" width="100%" height="640" style="border:0" loading="lazy"></iframe>'
        return format_html(
            '<div class="lb-snippets"><p><a href="{0}" target="_blank" rel="noopener">{0}</a></p>'
            "<p>{1}</p><pre>{2}</pre><p>{3}</p><pre>{4}</pre></div>",
            hosted,
            _("Script tag (recommended):"),
            script,
            _("Or an iframe:"),
            iframe,
        )


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    form = LandingPageAdminForm
    change_form_template = "admin/landing/landingpage/change_form.html"
    list_display = ("title", "slug", "published_at", "updated_at", "public_link")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    actions = ["publish_pages"]

    def get_form(self, request: HttpRequest, obj: LandingPage | None = None, change: bool = False, **kwargs) -> type:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def save_model(self, request: HttpRequest, obj: LandingPage, form: forms.ModelForm, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        if "_publish" in request.POST:
            obj.publish()
            messages.success(
                request, _("Published: visitors now see this version at %(url)s") % {"url": obj.get_absolute_url()}
            )

    def response_add(
        self, request: HttpRequest, obj: LandingPage, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_publish" in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: LandingPage) -> HttpResponse:
        if "_publish" in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_change(request, obj)

    @admin.display(description=gettext_lazy("public page"))
    def public_link(self, obj: LandingPage) -> str:
        if not obj.is_published:
            return "—"
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.get_absolute_url())

    @admin.action(description=gettext_lazy("Publish the drafts of the selected pages"), permissions=["change"])
    def publish_pages(self, request: HttpRequest, queryset) -> None:
        published = 0
        for page in queryset:
            problems = builder.page_block_problems(page.draft_blocks, user=request.user, previous=page.draft_blocks)
            if problems:
                messages.error(request, f"{page}: {' '.join(problems)}")
                continue
            page.publish()
            published += 1
        count = ngettext("%(count)d page published.", "%(count)d pages published.", published) % {"count": published}
        messages.success(request, count)


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "form", "lead", "embedded")
    list_filter = ("form", "embedded")
    list_select_related = ("form", "lead")
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
