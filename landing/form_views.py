"""Hosted and embedded forms, the opt-in confirmation and the gated download: thin views over landing's modules.

Hosted posts (/f/<slug>/) are protected by Django's CSRF check. Embedded posts
(?embed=1 inside an iframe, whose cross-site frame gets no CSRF cookie, or a
post from one of the form's allowed origins) are exempt from it, but must come
from an allowed origin (or ours) and carry the signed form token, which is
bound to the form and doubles as the minimum-fill-time clock.
"""

import re
import secrets
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from landing import downloads, followups, submitting
from landing.form_cache import published_form
from landing.models import Form
from leads import tracking

VISITOR_COOKIE = "_mauto_vid"
VISITOR_COOKIE_AGE = 2 * 365 * 24 * 3600
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
THANKS_KEPT = 200  # thank-you pages (form versions × languages × hosted/embedded) kept per process
EMBED_SCRIPT = (Path(__file__).parent / "static" / "landing" / "form.js").read_text()


@csrf_exempt  # hosted posts go through csrf_protect below; embedded ones carry the signed form token
@never_cache
@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    form = published_form(slug)
    origin = request.headers.get("Origin", "")
    cross_origin = bool(origin) and origin != _own_origin(request)
    embedded = request.GET.get("embed") == "1" or cross_origin
    if request.method == "GET":
        return _show(request, form, embedded=embedded)
    if cross_origin and origin not in allowed_origins(form):
        return _page(request, form, status=403, embedded=embedded, title=_("Not allowed"),
                     message=_("This site may not submit this form."))  # fmt: skip
    if not embedded:
        return _receive_hosted(request, form, embedded=False)
    return _receive(request, form, embedded=True)


def _show(request: HttpRequest, form: Form, *, embedded: bool) -> HttpResponse:
    if embedded:
        visit = {"visitor_id": request.GET.get("vid", ""), "page_url": request.GET.get("page", ""),
                 "referrer": request.GET.get("ref", "")}  # fmt: skip
    else:
        visit = {"visitor_id": request.COOKIES.get(VISITOR_COOKIE, ""), "page_url": request.build_absolute_uri(),
                 "referrer": request.headers.get("Referer", "")}  # fmt: skip
    visit = _checked_visit(**visit)
    known_visitor = bool(visit["visitor_id"])
    if not embedded and not known_visitor:
        visit["visitor_id"] = secrets.token_hex(16)
    response = _render_form(request, form, embedded=embedded, status=200, **visit)
    if not embedded:
        _remember_visitor(request, response, form, visit, known=known_visitor)
    return response


def _remember_visitor(request: HttpRequest, response: HttpResponse, form: Form, visit: dict, *, known: bool) -> None:
    """A returning visitor's view of the form is a page view; a new one gets our first-party id."""
    if not known:
        response.set_cookie(VISITOR_COOKIE, visit["visitor_id"], max_age=VISITOR_COOKIE_AGE, samesite="Lax",
                            secure=request.is_secure())  # fmt: skip
    elif not tracking.over_limit(visitor_id=visit["visitor_id"], client_ip=client_ip(request)):
        utm = {key: request.GET[key][: tracking.UTM_MAX] for key in tracking.UTM_KEYS if request.GET.get(key)}
        tracking.record_page_view(visitor_id=visit["visitor_id"], url=visit["page_url"], referrer=visit["referrer"],
                                  title=form.name[: tracking.TITLE_MAX], utm=utm)  # fmt: skip


def _receive(request: HttpRequest, form: Form, *, embedded: bool) -> HttpResponse:
    size = int(request.META.get("CONTENT_LENGTH") or 0)
    data = request.POST if size <= submitting.BODY_MAX else QueryDict()  # never parse a huge body
    visit = _checked_visit(
        visitor_id=data.get(submitting.VISITOR_FIELD, "") or request.COOKIES.get(VISITOR_COOKIE, ""),
        # Without the hidden field (a landing page's form block), the page is what the browser says it was.
        page_url=data.get(submitting.PAGE_FIELD, "") or request.headers.get("Referer", ""),
        referrer=data.get(submitting.REFERRER_FIELD, ""),
    )  # fmt: skip
    utm = {key: request.GET[key].strip()[: tracking.UTM_MAX] for key in tracking.UTM_KEYS if request.GET.get(key)}
    meta = submitting.Meta(client_ip=client_ip(request), utm=utm, embedded=embedded, body_size=size, **visit)
    result = submitting.submit(form=form, data=data, meta=meta)
    if result.ok:
        return _succeeded(request, form, result, embedded=embedded)
    errors = {key: messages for key, messages in result.errors.items() if key != submitting.ALL}
    return _render_form(request, form, embedded=embedded, status=result.status, values=result.values,
                        errors=errors, form_errors=result.errors.get(submitting.ALL, []), **visit)  # fmt: skip


_receive_hosted = csrf_protect(_receive)


def _succeeded(request: HttpRequest, form: Form, result: submitting.Result, *, embedded: bool) -> HttpResponse:
    redirect_url = form.redirect_url if tracking.is_http_url(form.redirect_url) else ""
    if form.success_action == Form.SuccessAction.REDIRECT and redirect_url and not embedded:
        return HttpResponseRedirect(redirect_url)  # set by staff; http(s) only, never taken from the request
    submission, message = result.submission, form.success_message or _("Thank you. We have received your entry.")
    if form.double_opt_in and submission and submission.consent_wording:
        message += "\n" + _("Please open the link in the email we sent you to confirm your subscription.")
    download_url = ""
    if form.success_action == Form.SuccessAction.ASSET and submission and form.asset:
        download_url = downloads.download_url(submission)
    redirect_url = redirect_url if form.success_action == Form.SuccessAction.REDIRECT else ""
    if download_url:  # the link is this submission's own
        return _page(request, form, status=200, embedded=embedded, title=_("Thank you"), message=message,
                     download_url=download_url)  # fmt: skip
    return _thanks(request, form, message=message, redirect_url=redirect_url, embedded=embedded)


_thanks_pages: dict[tuple, str] = {}


def _thanks(request: HttpRequest, form: Form, *, message: str, redirect_url: str, embedded: bool) -> HttpResponse:
    """The same thank-you page for every post of a form version: rendered once per process and language."""
    key = (form.pk, form.updated_at, get_language(), embedded, message, redirect_url)
    html = _thanks_pages.get(key)
    if html is None:
        if len(_thanks_pages) >= THANKS_KEPT:
            _thanks_pages.clear()
        context = {"form": form, "embedded": embedded, "title": _("Thank you"), "message": message,
                   "redirect_url": redirect_url}  # fmt: skip
        html = _thanks_pages[key] = render_to_string("landing/form_done.html", context, request)
    return _frameable(HttpResponse(html), form, embedded=embedded)


def _render_form(request: HttpRequest, form: Form, *, embedded: bool, status: int, **context) -> HttpResponse:
    action = request.get_full_path()
    if embedded and request.GET.get("embed") != "1":
        action = form.get_absolute_url() + "?embed=1"
    context = {"form": form, "embedded": embedded, "action": action, **context}
    return _frameable(render(request, "landing/form.html", context, status=status), form, embedded=embedded)


def _page(request: HttpRequest, form: Form | None, *, status: int, embedded: bool = False, **context) -> HttpResponse:
    response = render(request, "landing/form_done.html", {"form": form, "embedded": embedded, **context}, status=status)
    return _frameable(response, form, embedded=embedded) if form else response


def _frameable(response: HttpResponse, form: Form, *, embedded: bool) -> HttpResponse:
    """Embedded answers may be framed by the form's allowed origins only; hosted ones keep X-Frame-Options DENY."""
    if embedded:
        response.xframe_options_exempt = True
        response["Content-Security-Policy"] = "frame-ancestors " + (" ".join(allowed_origins(form)) or "'none'")
    return response


def allowed_origins(form: Form) -> list[str]:
    """The form's origins that are well-formed; anything else could smuggle CSP directives into the header."""
    return [origin for origin in form.origins if ORIGIN.fullmatch(origin)]


def _checked_visit(*, visitor_id: str, page_url: str, referrer: str) -> dict[str, str]:
    """The visit details as sent, each dropped (not refused) when malformed: they are optional."""
    return {
        "visitor_id": "" if tracking.visitor_id_problem(visitor_id) else visitor_id,
        "page_url": "" if tracking.url_problem("page", page_url) else page_url,
        "referrer": "" if tracking.url_problem("referrer", referrer) else referrer,
    }


def _own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def client_ip(request: HttpRequest) -> str:
    """The address rate limits count; behind our TLS proxy, the one it appended to X-Forwarded-For."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


@require_GET
def embed_script(request: HttpRequest, slug: str) -> HttpResponse:
    published_form(slug)
    response = HttpResponse(EMBED_SCRIPT, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: mail scanners that follow links must not subscribe anyone."""
    submission = followups.submission_for_confirmation(slug, token)
    if submission is None:
        return _page(request, None, status=403, title=_("This link is not valid"),
                     message=_("The confirmation link is broken or has expired."))  # fmt: skip
    if request.method == "GET":
        return _page(request, None, status=200, title=submission.form.name, confirm_action=request.path,
                     message=_("Press the button to confirm that you want to receive our emails."))  # fmt: skip
    followups.confirm_opt_in(submission)
    return _page(request, None, status=200, title=_("Thank you"), message=_("Your subscription is confirmed."))


@require_GET
def download(request: HttpRequest, token: str) -> HttpResponse:
    grant = downloads.resolve(token)
    if isinstance(grant, downloads.Refusal):
        return _refused_download(request, grant)
    try:
        handle = grant.form.asset.open("rb")
    except OSError:  # the file vanished from storage
        return _refused_download(request, downloads.Refusal.GONE)
    downloads.record_download(grant)
    return FileResponse(handle, as_attachment=True, filename=grant.form.asset.name.rsplit("/", 1)[-1])


def _refused_download(request: HttpRequest, refusal: downloads.Refusal) -> HttpResponse:
    titles = {
        downloads.Refusal.TAMPERED: (_("This link is not valid"), _("The download link is broken.")),
        downloads.Refusal.EXPIRED: (
            _("This link has expired"),
            _("The download link has expired. Please fill in the form again to get a new one."),
        ),
        downloads.Refusal.GONE: (_("This file is no longer available"), _("The file is no longer offered.")),
    }
    title, message = titles[refusal]
    return _page(request, None, status=refusal.value, title=title, message=message)
