"""Admin pages: templates with preview and test send, campaigns with their audience, schedule,
send/pause/resume buttons and a progress bar, the send records, and the sender identity."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import composing, sending
from campaigns.models import Campaign, EmailTemplate, Send, SenderIdentity
from leads.models import Lead


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "updated_at")
    search_fields = ("name", "subject")
    change_form_template = "campaigns/admin/template_change_form.html"

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", view(self.preview_view), name="campaigns_emailtemplate_preview"),
            path("<int:pk>/test-send/", view(self.test_send_view), name="campaigns_emailtemplate_test_send"),
        ] + super().get_urls()

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = self._template(request, pk, "view")
        lead = _lead(request.GET.get("lead"))
        out = composing.preview(template=template, lead=lead)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": template,
                   "out": out, "lead": lead, "title": _("Preview: %(name)s") % {"name": template}}  # fmt: skip
        return TemplateResponse(request, "campaigns/admin/preview.html", context)

    def test_send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = self._template(request, pk, "change")
        if request.method != "POST":
            raise PermissionDenied
        if not request.user.email:
            messages.error(request, _("Your user has no email address: add one to receive test sends."))
        else:
            composing.send_test(template=template, lead=_lead(request.POST.get("lead")), to=request.user.email)
            messages.success(request, _("Test email sent to %(email)s.") % {"email": request.user.email})
        return HttpResponseRedirect(reverse("admin:campaigns_emailtemplate_change", args=[pk]))

    def changeform_view(self, request: HttpRequest, object_id=None, form_url: str = "", extra_context=None):
        extra_context = {**(extra_context or {}), "merge_help": MERGE_HELP}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _template(self, request: HttpRequest, pk: int, action: str) -> EmailTemplate:
        if not request.user.has_perm(f"campaigns.{action}_emailtemplate"):
            raise PermissionDenied
        return get_object_or_404(EmailTemplate, pk=pk)


MERGE_HELP = gettext_lazy(
    "Lead: {{ lead.last_name }}, {{ lead.first_name }}, {{ lead.company_name }}, {{ lead.department }}, "
    "{{ lead.title }}, {{ lead.email }}, {{ lead.phone }}, {{ lead.custom.KEY }}. Company: {{ company.name }}, "
    "{{ company.industry }}, {{ company.employees }}. Greeting with a fallback: {{ lead | honorific }} (or "
    "{{ lead.last_name }} {{ lead.first_name }} 様) gives ご担当者様 when the names are empty; any value: "
    '{{ lead.company_name | fallback("貴社") }}. The sender, postal address, contact and unsubscribe link '
    "are added by the system."
)


def _lead(value: str | None) -> Lead | None:
    return Lead.objects.select_related("company").filter(pk=value).first() if (value or "").isdigit() else None


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "status", "progress_bar", "scheduled_at", "created_at")
    list_filter = ("content_type", "status")
    search_fields = ("name",)
    list_select_related = ("template",)
    filter_horizontal = ("lists", "segments", "suppression_lists")
    readonly_fields = ("status", "progress_bar", "paused_reason", "started_at", "finished_at")
    fields = ("name", "content_type", "template", "lists", "segments", "suppression_lists", "utm_campaign",
              "scheduled_at", "status", "progress_bar", "paused_reason", "started_at", "finished_at")  # fmt: skip
    change_form_template = "campaigns/admin/campaign_change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> tuple:
        if obj is not None and not obj.editable:  # the audience and content are fixed once sending starts
            return self.fields
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def changeform_view(self, request: HttpRequest, object_id=None, form_url: str = "", extra_context=None):
        campaign = self.get_object(request, object_id) if object_id else None
        actions = [
            (action, label) for action, label in ACTION_LABELS.items() if campaign and _allowed(campaign, action)
        ]
        extra_context = {**(extra_context or {}), "campaign_actions": actions}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/do/<str:action>/", view(self.action_view), name="campaigns_campaign_action"),
        ] + super().get_urls()

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """Send now, schedule, pause or resume (POST only, with the change permission)."""
        campaign = get_object_or_404(Campaign, pk=pk)
        if request.method != "POST" or action not in ACTIONS or not self.has_change_permission(request, campaign):
            raise PermissionDenied
        try:
            done = ACTIONS[action](campaign)
        except sending.SendingError as exc:
            messages.error(request, str(exc))
        else:
            (messages.success if done else messages.warning)(request, _message(action, done))
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))

    @admin.display(description=gettext_lazy("progress"))
    def progress_bar(self, obj: Campaign) -> str:
        total = max(obj.recipients, 1)
        return format_html(
            '<progress max="{}" value="{}" title="{}%"></progress> {} / {}',
            total, obj.sent_count, round(100 * obj.sent_count / total), obj.sent_count, obj.recipients,
        )  # fmt: skip


def _schedule(campaign: Campaign) -> bool:
    return sending.schedule(campaign=campaign, at=campaign.scheduled_at or timezone.now())


ACTIONS = {
    "send": lambda campaign: sending.start(campaign=campaign),
    "schedule": _schedule,
    "pause": lambda campaign: sending.pause(campaign=campaign, reason=_("Paused by a marketer")),
    "resume": lambda campaign: sending.resume(campaign=campaign),
}


ACTION_LABELS = {
    "send": gettext_lazy("Send now"),
    "schedule": gettext_lazy("Schedule"),
    "pause": gettext_lazy("Pause"),
    "resume": gettext_lazy("Resume"),
}


def _allowed(campaign: Campaign, action: str) -> bool:
    if action in ("send", "schedule"):
        return campaign.editable
    return campaign.status == (Campaign.Status.SENDING if action == "pause" else Campaign.Status.PAUSED)


def _message(action: str, done: object) -> str:
    if not done:
        return _("Nothing changed: the campaign is not in a state that allows this.")
    return {
        "send": _("Sending started to %(count)s recipients.") % {"count": done},
        "schedule": _("Scheduled."),
        "pause": _("Paused. Messages already handed over finish; the rest wait."),
        "resume": _("Resumed."),
    }[action]


@admin.register(Send)
class SendAdmin(admin.ModelAdmin):
    list_display = ("email", "source", "status", "attempts", "sent_at", "error")
    list_filter = ("status",)
    search_fields = ("email", "source", "message_id")
    raw_id_fields = ("lead", "campaign")
    list_select_related = ("lead",)


@admin.register(SenderIdentity)
class SenderIdentityAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # as every admin form with a URL

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SenderIdentity.objects.exists()


from campaigns import automation_admin  # noqa: E402, F401  (sequences, enrollments, triggers: issue 7)
