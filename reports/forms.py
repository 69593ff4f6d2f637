"""The reports' query parameters, validated once for the pages and the API: precise errors, never a 500."""

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports import kpis, metrics

DENOMINATOR_LABELS = {
    "sent": _("sent"),
    "delivered": _("delivered"),
    "opens": _("opens"),
    "clicks": _("clicks"),
}
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def _denominator(metric: str, label) -> forms.ChoiceField:
    choices = [(name, DENOMINATOR_LABELS[name]) for name in metrics.DENOMINATORS[metric]]
    return forms.ChoiceField(label=label, choices=choices, required=False)


class ReportOptions(forms.Form):
    """Options shared by the campaign pages and the campaign API."""

    open = _denominator("open", _("Open rate per"))
    click = _denominator("click", _("Click rate per"))
    cvr = _denominator("cvr", _("CVR per"))
    machine = forms.BooleanField(label=_("Include machine opens and scanner clicks"), required=False)
    window_days = forms.IntegerField(label=_("Conversion window (days after a click)"), required=False)
    opportunity_days = forms.IntegerField(
        label=_("Opportunity window (days after a send)"), required=False,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        days = self.fields["window_days"]
        days.validators += [MinValueValidator(1), MaxValueValidator(settings.REPORTS_MAX_CONVERSION_DAYS)]
        days.help_text = _("1 to %(max)s days") % {"max": settings.REPORTS_MAX_CONVERSION_DAYS}

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            "denominators": {metric: data[metric] for metric in ("open", "click", "cvr") if data.get(metric)},
            "include_machine": data.get("machine") or False,
            "window": timedelta(days=data.get("window_days") or settings.REPORTS_CONVERSION_DAYS),
            "opportunity_window": timedelta(days=data.get("opportunity_days") or settings.ATTRIBUTION_WINDOW_DAYS),
        }


class DateRange(ReportOptions):
    """The campaign list: campaigns started between two dates (inclusive)."""

    since = forms.DateField(label=_("Started from"), required=False)
    until = forms.DateField(label=_("Started until"), required=False)

    def clean(self) -> dict:
        data = super().clean()
        for name in ("since", "until"):
            if data.get(name) and not EARLIEST <= data[name] <= LATEST:
                self.add_error(name, _("Give a date between 2000 and 2100."))
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end is before the start."))
        return data


class MonthField(forms.DateField):
    input_formats = ["%Y-%m"]
    default_error_messages = {"invalid": _("Give a month as YYYY-MM, e.g. 2026-04.")}


class MonthRange(forms.Form):
    """The KPI dashboard: calendar months, at most kpis.MAX_MONTHS of them."""

    start = MonthField(label=_("From month"), required=False)
    end = MonthField(label=_("To month"), required=False)
    window_days = forms.IntegerField(required=False, validators=[MinValueValidator(1)])

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        data["end"] = data.get("end") or today.replace(day=1)
        data["start"] = data.get("start") or (data["end"] - timedelta(days=150)).replace(day=1)
        if not EARLIEST <= data["start"] <= LATEST or not EARLIEST <= data["end"] <= LATEST:
            raise forms.ValidationError(_("Give months between 2000 and 2100."))
        if data["start"] > data["end"]:
            self.add_error("end", _("The end is before the start."))
        elif len(kpis.month_starts(data["start"], data["end"])) > kpis.MAX_MONTHS:
            self.add_error("end", _("At most %(max)s months at once.") % {"max": kpis.MAX_MONTHS})
        if (data.get("window_days") or 0) > settings.REPORTS_MAX_CONVERSION_DAYS:
            self.add_error("window_days", _("At most %(max)s days.") % {"max": settings.REPORTS_MAX_CONVERSION_DAYS})
        return data

    def months(self) -> list[date]:
        return kpis.month_starts(self.cleaned_data["start"], self.cleaned_data["end"])

    def window(self) -> timedelta:
        return timedelta(days=self.cleaned_data.get("window_days") or settings.REPORTS_CONVERSION_DAYS)


def _rate_field(label) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=4, decimal_places=1, min_value=Decimal("0.1"),
                              max_value=Decimal(100))  # fmt: skip


class PlannerForm(forms.Form):
    """Target conversions and expected rates; the defaults are the seed's worked example."""

    conversions = forms.IntegerField(label=_("Target conversions"), min_value=1, max_value=1_000_000)
    delivery = _rate_field(_("Delivery rate (%)"))
    open = _rate_field(_("Open rate (%)"))
    click = _rate_field(_("Click rate (%)"))
    cvr = _rate_field(_("CVR (%)"))
    cvr_basis = forms.ChoiceField(label=_("CVR counted on"), choices=[("clicks", _("clicks")), ("opens", _("opens"))])
