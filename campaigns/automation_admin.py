"""The automation admin: sequences with their steps, enrollments per lead, triggers and their fires.

Registered from campaigns/admin.py. A step that leads are waiting on cannot be
deleted (the enrollment protects it): Django's inline formset says so and names them.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.automation_models import Enrollment, Sequence, Step, Trigger, TriggerFire
from campaigns.sequences import SequenceError, activate, end, enroll
from leads.lists import resolve_leads
from leads.models import Activity

MAX_ENROLL = 10_000


class StepInline(admin.TabularInline):
    model = Step
    fk_name = "sequence"
    extra = 0
    fields = ("order", "template", "delay", "unit", "weekdays", "window_start", "window_end", "condition", "otherwise")
    autocomplete_fields = ("template",)


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "entry", "reentry", "step_count", "active_count")
    list_filter = ("status", "entry")
    search_fields = ("name",)
    inlines = [StepInline]
    actions = ["activate_selected", "pause_selected"]
    raw_id_fields = ("entry_list", "entry_segment", "exit_segment")
    readonly_fields = ("enroll_link",)

    @admin.display(description=_("Manual entry"))
    def enroll_link(self, obj: Sequence) -> str:
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:campaigns_sequence_enroll", args=[obj.pk]),
                           _("Enroll leads…"))  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_steps=Count("steps", distinct=True),
                n_active=Count("enrollments", filter=Q(enrollments__status=Enrollment.Status.ACTIVE), distinct=True),
            )
        )

    @admin.display(description=_("steps"), ordering="n_steps")
    def step_count(self, obj: Sequence) -> int:
        return obj.n_steps

    @admin.display(description=_("enrolled now"), ordering="n_active")
    def active_count(self, obj: Sequence) -> int:
        return obj.n_active

    @admin.action(description=_("Activate the selected sequences"))
    def activate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for sequence in queryset:
            try:
                activate(sequence=sequence)
            except SequenceError as exc:
                self.message_user(request, f"{sequence}: {exc}", messages.ERROR)

    @admin.action(description=_("Pause the selected sequences (due steps wait)"))
    def pause_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.update(status=Sequence.Status.PAUSED)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.enroll_view)
        return [path("<int:pk>/enroll/", view, name="campaigns_sequence_enroll"), *super().get_urls()]

    def enroll_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Manual entry: paste email addresses (or lead ids), one per line."""
        sequence = self.get_object(request, str(pk))
        if sequence is None or not self.has_change_permission(request, sequence):
            raise PermissionDenied
        form = EnrollForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._enroll(request, sequence, form.cleaned_data["leads"])
            return HttpResponseRedirect(reverse("admin:campaigns_sequence_change", args=[pk]))
        context = {**self.admin_site.each_context(request), "form": form, "sequence": sequence,
                   "opts": self.model._meta, "title": _("Enroll leads")}  # fmt: skip
        return TemplateResponse(request, "campaigns/sequence_enroll.html", context)

    def _enroll(self, request: HttpRequest, sequence: Sequence, names: list[str]) -> None:
        ids = [int(n) for n in names if n.isdigit()]
        found = resolve_leads(ids=ids, emails=[n for n in names if not n.isdigit()])
        try:
            result = enroll(sequence=sequence, lead_ids=found.leads.values_list("pk", flat=True), source="admin")
        except SequenceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, _("Enrolled: %(enrolled)s, not mailable (recorded): %(skipped)s, already "
                                     "enrolled: %(already)s, unknown: %(missing)s") % {
            "enrolled": result.enrolled, "skipped": result.skipped, "already": result.already,
            "missing": len(found.missing)})  # fmt: skip


class EnrollForm(forms.Form):
    leads = forms.CharField(label=_("Email addresses or lead ids, one per line"), widget=forms.Textarea)

    def clean_leads(self) -> list[str]:
        names = [line.strip() for line in self.cleaned_data["leads"].splitlines() if line.strip()]
        if len(names) > MAX_ENROLL:
            raise ValidationError(_("At most %(max)s leads at a time.") % {"max": MAX_ENROLL})
        return names


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    """Each lead's enrollments: where it stands (next step, next send time) and its history."""

    list_display = ("lead", "sequence", "status", "step", "next_due_at", "entered_at", "finished_at", "reason")
    list_filter = ("status", "sequence")
    search_fields = ("lead__email_key", "lead__last_name", "sequence__name")
    list_select_related = ("lead", "sequence", "step", "step__sequence")
    readonly_fields = [f.name for f in Enrollment._meta.fields]
    actions = ["end_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Remove the selected leads from their sequence"))
    def end_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = end(enrollments=Q(pk__in=queryset.values("pk")), reason=str(_("removed by staff")))
        self.message_user(request, ngettext("%d enrollment ended.", "%d enrollments ended.", count) % count)


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "activity", "url_contains", "action", "delay_minutes", "once_per_days")
    list_filter = ("active", "kind", "action")
    search_fields = ("name", "url_contains")
    autocomplete_fields = ("template",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def formfield_for_choice_field(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "kind":  # the activity kinds' own (translated) labels
            kwargs["choices"] = [(kind, Activity.Kind(kind).label) for kind in Trigger.KINDS]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.display(description=_("activity"), ordering="kind")
    def activity(self, obj: Trigger) -> str:
        return Activity.Kind(obj.kind).label


@admin.register(TriggerFire)
class TriggerFireAdmin(admin.ModelAdmin):
    list_display = ("trigger", "lead", "status", "fired_at", "due_at", "error")
    list_filter = ("status", "trigger")
    search_fields = ("lead__email_key", "trigger__name")
    list_select_related = ("trigger", "lead")
    readonly_fields = [f.name for f in TriggerFire._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
