"""The sales workspace at /sales/: thin views over sales.workspace, sales.handover and sales.opportunities."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from leads.exporting import csv_response
from leads.models import Lead
from sales import access, handover, opportunities, workspace
from sales.forms import FilterForm, HandbackForm, NoteForm, ReassignForm, StageForm, TermsForm, convert_initial
from sales.models import Opportunity

View = Callable[..., HttpResponse]


class LoginView(auth_views.LoginView):
    """The workspace's own login: sales users are not staff, so the admin's would refuse them."""

    template_name = "sales/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("sales:hot_leads")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("login")


def workspace_view(permission: Callable = access.can_read) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without the permission get a 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return auth_views.redirect_to_login(request.get_full_path(), reverse("login"))
            if not permission(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _can_add(user) -> bool:
    return user.has_perm("sales.add_opportunity")


def _can_change(user) -> bool:
    return user.has_perm("sales.change_opportunity")


@require_GET
@workspace_view()
def hot_leads(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET)
    form.is_valid()
    leads = workspace.hot_leads(user=request.user, filters=form.filters()).only(*workspace.LIST_FIELDS)
    page = Paginator(leads, workspace.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": workspace.list_rows(list(page)),
        "query": _query_without_page(request),
    }
    return render(request, "sales/hot_leads.html", context, status=200 if not form.errors else 400)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
@workspace_view()
def export_csv(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET)
    form.is_valid()
    return csv_response(workspace.hot_leads(user=request.user, filters=form.filters()))


@require_GET
@workspace_view()
def lead(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_page(request, pk)


def _lead_page(request: HttpRequest, pk: int, *, status: int = 200, **forms) -> HttpResponse:
    try:
        page = workspace.lead_page(lead_id=pk, user=request.user)
    except Lead.DoesNotExist:
        return render(request, "sales/not_found.html", status=404)
    context = {
        "page": page,
        "lead": page.lead,
        "note_form": forms.get("note_form") or NoteForm(),
        "handback_form": forms.get("handback_form") or HandbackForm(),
        "reassign_form": forms.get("reassign_form") or ReassignForm(),
        "may_work": access.can_work(request.user),
        "may_take": access.may_take(request.user, page.lead),
        "may_convert": _can_add(request.user),
    }
    return render(request, "sales/lead.html", context, status=status)


@require_POST
@workspace_view(access.can_work)
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    if handover.claim(lead=lead, user=request.user):
        messages.success(request, _("The lead is yours."))
    else:
        messages.error(request, _("Someone else owns this lead already."))
    return redirect("sales:lead", pk=pk)


@require_POST
@workspace_view(access.can_work)
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    if not access.may_take(request.user, lead):
        raise PermissionDenied
    form = ReassignForm(request.POST)
    if not form.is_valid():
        return _lead_page(request, pk, status=400, reassign_form=form)
    handover.reassign(lead=lead, owner=form.cleaned_data["owner"])
    messages.success(request, _("The lead was passed on."))
    return redirect("sales:lead", pk=pk)


@require_POST
@workspace_view(lambda user: user.has_perm("sales.add_note"))
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _lead_page(request, pk, status=400, note_form=form)
    handover.add_note(lead=lead, author=request.user, **form.cleaned_data)
    messages.success(request, _("Saved."))
    return redirect("sales:lead", pk=pk)


@require_POST
@workspace_view(access.can_work)
def hand_back(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    if not access.may_take(request.user, lead):
        raise PermissionDenied
    form = HandbackForm(request.POST)
    if not form.is_valid():
        return _lead_page(request, pk, status=400, handback_form=form)
    handover.hand_back(lead=lead, user=request.user, **form.cleaned_data)
    messages.success(request, _("The lead went back to marketing."))
    return redirect("sales:hot_leads")


@workspace_view(_can_add)
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.select_related("company"), pk=pk)
    form = TermsForm(request.POST or None, initial=convert_initial(lead))
    if request.method == "POST" and form.is_valid():
        opportunity = opportunities.convert(lead=lead, terms=form.terms(), user=request.user)
        messages.success(request, _("Opportunity created."))
        return redirect("sales:opportunity", pk=opportunity.pk)
    status = 400 if form.errors else 200
    return render(request, "sales/convert.html", {"lead": lead, "form": form}, status=status)


@require_GET
@workspace_view()
def opportunity_list(request: HttpRequest) -> HttpResponse:
    rows = access.visible_opportunities(request.user).select_related("lead", "owner").order_by("-updated_at", "-pk")
    page = Paginator(rows, workspace.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sales/opportunities.html", {"page": page})


def _visible(request: HttpRequest, pk: int) -> Opportunity:
    """Another user's opportunity is a 404 for a sales user, exactly like one that does not exist."""
    rows = access.visible_opportunities(request.user).select_related("lead", "owner", "company")
    return get_object_or_404(rows, pk=pk)


@workspace_view()
def opportunity(request: HttpRequest, pk: int) -> HttpResponse:
    opp = _visible(request, pk)
    form = TermsForm(request.POST or None, instance=opp)
    if request.method == "POST":
        if not _can_change(request.user):
            raise PermissionDenied
        if form.is_valid():
            opportunities.update_terms(opportunity=opp, terms=form.terms())
            messages.success(request, _("Saved."))
            return redirect("sales:opportunity", pk=pk)
    return _opportunity_page(request, opp, form=form, stage_form=StageForm(initial={"stage": opp.stage}))


def _opportunity_page(request: HttpRequest, opp: Opportunity, *, form, stage_form) -> HttpResponse:
    context = {
        "opportunity": opp,
        "form": form,
        "stage_form": stage_form,
        "history": opp.stage_changes.select_related("by"),
        "touches": workspace.label_sources(list(opp.touches.all())),
        "may_change": _can_change(request.user),
    }
    return render(request, "sales/opportunity.html", context, status=400 if form.errors or stage_form.errors else 200)


@require_POST
@workspace_view(_can_change)
def opportunity_stage(request: HttpRequest, pk: int) -> HttpResponse:
    opp = _visible(request, pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        return _opportunity_page(request, opp, form=TermsForm(instance=opp), stage_form=form)
    if opportunities.change_stage(opportunity=opp, to=form.cleaned_data["stage"], user=request.user):
        messages.success(request, _("Stage changed to %(stage)s.") % {"stage": opp.get_stage_display()})
    return redirect("sales:opportunity", pk=pk)
