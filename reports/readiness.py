"""The MA readiness check: the seed's six conditions for MA to pay off, measured from live data.

Each condition passes or fails with its number and what to do next. "A month" is the last 30
days. The seed gives figures for two conditions (5,000 mailable leads, two new content pieces a
month); for the others the threshold is ours and says so on the page.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, EmailTemplate
from landing.models import Form, LandingPage
from leads.models import Activity, Consent, Lead
from mautomation.roles import MARKETER
from reports.models import KpiTarget

MAILABLE_MIN = 5000  # the seed: "about 5,000 mailable leads at minimum"
CONTENT_MIN = 2  # the seed: "at least two new pieces a month"
VISITS_MIN = 1000  # ours: page views a month before anonymous-visitor tracking tells you much
MONTH = timedelta(days=30)
TITLES = {
    "leads": gettext_lazy("1. Enough leads"),
    "inflow": gettext_lazy("2. New leads keep coming"),
    "traffic": gettext_lazy("3. A website that attracts visitors"),
    "content": gettext_lazy("4. Plenty of content"),
    "people": gettext_lazy("5. People who run MA and its PDCA cycle"),
    "kpis": gettext_lazy("6. A clear purpose and KPIs"),
}


@dataclass(frozen=True)
class Condition:
    key: str
    passed: bool
    measured: str  # the number, in words
    target: str
    advice: str  # what to do next (when it fails) or how to keep it (when it passes)

    @property
    def title(self) -> str:
        return str(TITLES[self.key])


def check() -> list[Condition]:
    since = timezone.now() - MONTH
    return [mailable(), inflow(since), traffic(since), content(since), people(since), kpis()]


def mailable() -> Condition:
    count = Lead.objects.filter(consent=True, email_status=Lead.EmailStatus.OK).count()
    return Condition(
        "leads", count >= MAILABLE_MIN, _("%(count)s mailable leads") % {"count": f"{count:,}"},
        _("at least %(min)s (the seed's minimum)") % {"min": f"{MAILABLE_MIN:,}"},
        _("Keep collecting consented leads: gated whitepapers, seminars, business cards from events.")
        if count < MAILABLE_MIN else _("Keep the list clean: bounces and opt-outs are removed automatically."),
    )  # fmt: skip


def inflow(since) -> Condition:
    new = Lead.objects.filter(created_at__gte=since).count()
    lost = Consent.objects.filter(revoked_at__gte=since).values("lead").distinct().count()
    return Condition(
        "inflow", new > lost, _("%(new)s new leads, %(lost)s opted out in 30 days") % {"new": new, "lost": lost},
        _("more new leads than opt-outs each month"),
        _("Add a lead-acquisition channel (a how-to whitepaper, a research report, a webinar): "
          "leads cool over time and opt-outs shrink the list.") if new <= lost
        else _("Watch the monthly trend on the KPI page."),
    )  # fmt: skip


def traffic(since) -> Condition:
    views = Activity.objects.filter(kind=Activity.Kind.PAGE_VIEW, occurred_at__gte=since).count()
    return Condition(
        "traffic", views >= VISITS_MIN, _("%(views)s tracked page views in 30 days") % {"views": f"{views:,}"},
        _("about %(min)s a month (our rule of thumb)") % {"min": f"{VISITS_MIN:,}"},
        _("Put the tracking script on every page of your site and grow organic traffic (SEO, a blog).")
        if views < VISITS_MIN else _("Review which pages hot leads read and link them from your emails."),
    )  # fmt: skip


def content_pieces(since) -> dict[str, int]:
    """What we count as a new piece: a landing page published, a form with a gated asset, an email template."""
    return {
        "pages": LandingPage.objects.filter(published_at__gte=since).count(),
        "assets": Form.objects.filter(~Q(asset=""), created_at__gte=since).count(),
        "templates": EmailTemplate.objects.filter(created_at__gte=since).count(),
    }


def content(since) -> Condition:
    pieces = content_pieces(since)
    total = sum(pieces.values())
    measured = _("%(total)s new pieces in 30 days (%(pages)s landing pages published, %(assets)s gated assets, "
                 "%(templates)s email templates)") % {"total": total, **pieces}  # fmt: skip
    return Condition(
        "content", total >= CONTENT_MIN, measured, _("at least %(min)s a month (the seed)") % {"min": CONTENT_MIN},
        _("Plan two pieces a month: blog posts, case studies, whitepapers, seminar pages.")
        if total < CONTENT_MIN else _("Keep the pace, and reuse pieces across emails and landing pages."),
    )  # fmt: skip


def people(since) -> Condition:
    marketers = get_user_model().objects.filter(is_active=True, groups__name=MARKETER).count()
    campaigns = Campaign.objects.filter(started_at__gte=since).count()
    passed = marketers >= 1 and campaigns >= 1
    return Condition(
        "people", passed,
        _("%(marketers)s marketers, %(campaigns)s campaigns started in 30 days")
        % {"marketers": marketers, "campaigns": campaigns},
        _("someone in the marketer role, and at least one campaign a month"),
        _("Name an owner for MA in the marketer role and send at least one campaign a month, then review its "
          "report (plan, do, check, act).") if not passed else _("Review each campaign's report against the seed's "
                                                                  "reference rates."),
    )  # fmt: skip


def kpis() -> Condition:
    count = KpiTarget.objects.count()
    return Condition(
        "kpis", count >= 1, _("%(count)s KPI targets set") % {"count": count}, _("at least one monthly target"),
        _("Decide the purpose (nurture leads into opportunities, or up-sell to customers) and set monthly targets "
          "for the KPIs that measure it.") if count < 1 else _("Compare each month with its target on the KPI page."),
    )  # fmt: skip
