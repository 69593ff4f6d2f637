"""The admin for lists and segments: list actions on the lead list, the segment builder and its live count.

A segment's or a list's members are the lead list filtered by it (?segment=ID,
?list=ID), with its search, paging and actions. Campaigns and forms are offered
in the builder through apps.get_model, so leads/ still imports no other app.
"""

import json

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from leads.conditions import FIELDS as CONDITION_FIELDS
from leads.conditions import OPERATOR_LABELS, OPERATORS, WITH_DAYS, ConditionError, clean_definition, field_spec
from leads.lists import add_to_list, remove_from_list
from leads.models import CustomField, Lead, LeadList, ListMembership, Segment
from leads.segments import count_definition, custom_fields_for, segment_members, segment_q

MAX_COUNT_BODY = 256 * 1024  # a definition of 100 conditions is a few KB
PICKER_LIMIT = 500
GROUP_LABELS = {
    "lead": _("Lead fields"),
    "company": _("Company"),
    "custom": _("Custom fields"),
    "behaviour": _("Behaviour"),
}
PICKERS = {"tag": ("leads", "Tag"), "list": ("leads", "LeadList"), "email_event": ("campaigns", "Campaign"),
           "form_event": ("landing", "Form")}  # fmt: skip


def picker_options(kind: str) -> list[tuple[int, str]]:
    """(id, name) of the objects a condition of this kind may name; [] when that app is not installed."""
    try:
        model = apps.get_model(*PICKERS[kind])
    except (KeyError, LookupError):
        return []
    return [(obj.pk, str(obj)) for obj in model.objects.order_by("-pk")[:PICKER_LIMIT]]


def builder_config(count_url: str) -> dict:
    """Everything the builder script needs: fields with their operators, choices and pickers, and its wording."""
    custom = {field.key: field for field in CustomField.objects.order_by("label")}
    names = [*CONDITION_FIELDS, *(f"custom.{key}" for key in custom)]
    options = {kind: picker_options(kind) for kind in PICKERS}
    return {"fields": [_field_config(name, field_spec(name, custom), options) for name in names],
            "groups": {key: str(label) for key, label in GROUP_LABELS.items()}, "countUrl": count_url,
            "text": _builder_text()}  # fmt: skip


def _field_config(name: str, spec, options: dict) -> dict:
    return {
        "name": name,
        "label": str(spec.label),
        "group": spec.group,
        "kind": spec.kind,
        "ops": [[op, str(OPERATOR_LABELS[op])] for op in OPERATORS[spec.kind]],
        "choices": [[choice, str(_choice_label(name, choice))] for choice in spec.choices],
        "options": options.get(spec.kind, []),
        "days": spec.kind in WITH_DAYS,
    }


def _choice_label(name: str, choice: str) -> str:
    labels = {"stage": dict(Lead.Stage.choices), "email_status": dict(Lead.EmailStatus.choices)}
    return labels.get(name, {}).get(choice, choice)


def _builder_text() -> dict:
    return {key: str(value) for key, value in {
        "all": _("all of these"), "any": _("any of these"), "match": _("Leads matching"),
        "addCondition": _("Add condition"), "addGroup": _("Add group"), "remove": _("Remove"),
        "any_object": _("(any)"), "days": _("in the last N days (empty: any time)"), "yes": _("yes"), "no": _("no"),
        "counting": _("Counting…"), "count": _("%(count)s leads match now"), "failed": _("The count failed."),
    }.items()}  # fmt: skip


class ConditionBuilderWidget(forms.Widget):
    """The definition as JSON in a textarea (edited by hand without JavaScript), and the builder over it."""

    template_name = "leads/widgets/condition_builder.html"

    class Media:
        js = ["leads/segment_builder.js"]
        css = {"all": ["leads/segment_builder.css"]}

    def __init__(self, config: dict | None = None, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.config = config or {}

    def format_value(self, value: object) -> str:
        return value if isinstance(value, str) else json.dumps(value or [], ensure_ascii=False)

    def render(self, name: str, value: object, attrs: dict | None = None, renderer=None) -> str:
        context = self.get_context(name, value, attrs)
        widget = context["widget"]
        widget.update(config=self.config, config_id=f"{widget['attrs'].get('id', name)}_config")
        return mark_safe(render_to_string(self.template_name, context))


class SegmentForm(forms.ModelForm):
    conditions = forms.JSONField(label=_("Conditions"), required=False)

    class Meta:
        model = Segment
        fields = ["name", "description", "match", "conditions"]
        widgets = {"match": forms.RadioSelect}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        config = builder_config(reverse("admin:leads_segment_count"))
        self.fields["conditions"].widget = ConditionBuilderWidget(config)

    def clean(self) -> dict:
        data = super().clean()
        definition = {"match": data.get("match") or "all", "conditions": data.get("conditions") or []}
        try:
            cleaned = clean_definition(definition, custom_fields=custom_fields_for(definition))
        except ConditionError as error:
            self.add_error("conditions", list(error.problems))
            return data
        data["conditions"] = cleaned["conditions"]
        return data


def _members_link(count: int | None, **query: object) -> str:
    url = reverse("admin:leads_lead_changelist") + "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return format_html('<a href="{}">{}</a>', url, _("members") if count is None else count)


@admin.register(LeadList)
class LeadListAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "member_count", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    fields = ("name", "kind", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, lead_list: LeadList) -> str:
        return _members_link(lead_list.member_count, list=lead_list.pk)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ("name", "match", "condition_count", "members", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("member_count",)
    fields = ("name", "description", "match", "conditions", "member_count")

    @admin.display(description=_("conditions"))
    def condition_count(self, segment: Segment) -> int:
        return len(segment.conditions or [])

    @admin.display(description=_("members"))
    def members(self, segment: Segment) -> str:  # counted on its page only: one query per segment here would add up
        return _members_link(None, segment=segment.pk)

    @admin.display(description=_("members now"))
    def member_count(self, segment: Segment) -> str:
        return _members_link(segment_members(segment).count(), segment=segment.pk) if segment.pk else "-"

    def get_urls(self) -> list:
        count = path("count/", self.admin_site.admin_view(self.count_view), name="leads_segment_count")
        return [count, *super().get_urls()]

    def count_view(self, request: HttpRequest) -> JsonResponse:
        """POST {"match", "conditions"}: {"count": N}, or 400 {"errors": [...]} naming each wrong condition."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return JsonResponse({"errors": [str(_("Use POST."))]}, status=405)
        if len(request.body) > MAX_COUNT_BODY:
            return JsonResponse({"errors": [str(_("The definition is too large."))]}, status=413)
        try:
            return JsonResponse({"count": count_definition(json.loads(request.body))})
        except (ValueError, RecursionError) as error:
            problems = error.problems if isinstance(error, ConditionError) else [str(_("The body is not JSON."))]
            return JsonResponse({"errors": problems}, status=400)


class ListFilter(admin.SimpleListFilter):
    title = _("list")
    parameter_name = "list"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in LeadList.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(list_memberships__lead_list_id=int(value)) if value.isdigit() else queryset.none()


class SegmentFilter(admin.SimpleListFilter):
    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        segment = Segment.objects.filter(pk=int(value)).first() if value.isdigit() else None
        return queryset.filter(segment_q(segment.definition)) if segment else queryset.none()


class ChooseListForm(forms.Form):
    lead_list = forms.ModelChoiceField(label=_("List"), queryset=LeadList.objects.all())


def _choose_list(modeladmin, request: HttpRequest, queryset: QuerySet, *, action: str, title: str):
    """The list chosen on the confirmation page, or that page (None is never returned before it is posted)."""
    form = ChooseListForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        return form.cleaned_data["lead_list"]
    context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.opts, "title": title,
               "form": form, "action": action, "count": queryset.count(),
               "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
               "select_across": request.POST.get("select_across", "0"),
               "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}  # fmt: skip
    return TemplateResponse(request, "leads/admin/choose_list.html", context)


@admin.action(description=_("Add to list…"), permissions=["change"])
def add_to_list_action(modeladmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    chosen = _choose_list(modeladmin, request, queryset, action="add_to_list_action", title=_("Add to list"))
    if not isinstance(chosen, LeadList):
        return chosen
    added = add_to_list(lead_list=chosen, leads=queryset, source=ListMembership.Source.ADMIN, user_id=request.user.pk)
    message = ngettext("%(count)d lead added to %(list)s.", "%(count)d leads added to %(list)s.", added)
    modeladmin.message_user(request, message % {"count": added, "list": chosen}, messages.SUCCESS)
    return None


@admin.action(description=_("Remove from list…"), permissions=["change"])
def remove_from_list_action(modeladmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    chosen = _choose_list(modeladmin, request, queryset, action="remove_from_list_action", title=_("Remove from list"))
    if not isinstance(chosen, LeadList):
        return chosen
    removed = remove_from_list(lead_list=chosen, leads=queryset)
    message = ngettext("%(count)d lead removed from %(list)s.", "%(count)d leads removed from %(list)s.", removed)
    modeladmin.message_user(request, message % {"count": removed, "list": chosen}, messages.SUCCESS)
    return None
