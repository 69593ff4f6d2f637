"""The admin pages to upload a CSV of leads and follow its import; a Celery task does the work.

Included by mautomation/urls.py under /admin/leads/import/ (before admin.site.urls,
whose catch-all would otherwise answer first).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from leads import tasks
from leads.importing import CONSENT_METHODS, create_job
from leads.models import ImportJob, LeadList
from mautomation.lib.enqueue import try_enqueue

ERRORS_SHOWN = 1000


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        choices=[("auto", _("Detect (UTF-8 or Shift_JIS)")), ("utf-8", "UTF-8"), ("cp932", "Shift_JIS (CP932)")],
    )
    consent = forms.ChoiceField(
        label=_("Consent of new leads"),
        choices=[*((method.value, method.label) for method in CONSENT_METHODS), ("none", _("None recorded"))],
        help_text=_("Recorded for leads the import creates; existing leads keep theirs."),
    )
    source = forms.CharField(label=_("Source of new leads"), max_length=100, required=False)
    lead_list = forms.ModelChoiceField(
        label=_("Add the imported leads to list"),
        queryset=LeadList.objects.all(),
        required=False,
        help_text=_("Every lead of the file joins the list, new or existing."),
    )


def admin_page(request: HttpRequest, template: str, title: str, **context) -> HttpResponse:
    return render(request, template, {**admin.site.each_context(request), "title": title, **context})


@staff_member_required
@permission_required("leads.add_lead", raise_exception=True)
def upload(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = start_upload(request, form.cleaned_data)
        return redirect("leads-import-detail", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:20]
    return admin_page(request, "leads/import_upload.html", _("Import leads"), form=form, jobs=jobs)


@transaction.atomic
def start_upload(request: HttpRequest, data: dict) -> ImportJob:
    job = create_job(name=data["file"].name, encoding=data["encoding"], user=request.user, upload=data["file"])
    job.consent_method = "" if data["consent"] == "none" else data["consent"]
    job.source = data["source"]
    job.lead_list = data["lead_list"]
    job.save(update_fields=["consent_method", "source", "lead_list"])
    # Never fails the request: with the broker down, the job waits (pending) and the sweeper starts it.
    transaction.on_commit(lambda: try_enqueue(tasks.import_leads_job, (job.pk,), what=f"import {job.pk}"))
    return job


@staff_member_required
@permission_required("leads.add_lead", raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    running = job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
    errors = job.row_errors.all()[:ERRORS_SHOWN]
    return admin_page(request, "leads/import_detail.html", job.original_name, job=job, errors=errors, running=running)


urlpatterns = [
    path("", upload, name="leads-import"),
    path("<int:pk>/", detail, name="leads-import-detail"),
]
