"""The workspace's forms: each checks its input and says precisely what is wrong."""

from datetime import date
from decimal import Decimal

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import Lead
from sales.handover import assignable_owners
from sales.models import AMOUNT_MAX, Handback, Note, Opportunity
from sales.opportunities import Terms
from sales.workspace import HOT_STAGES, Filters

SEARCH_MAX = 100
# Control characters other than tab and newlines: nothing a person types, and PostgreSQL refuses NUL.
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}


def no_control_characters(value: str) -> None:
    if any(char in _CONTROL for char in value):
        raise forms.ValidationError(_("Remove the control characters from this text."))


class FilterForm(forms.Form):
    owner = forms.ChoiceField(
        required=False,
        choices=[("", _("Everyone")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))],
        label=_("Owner"),
    )
    stage = forms.ChoiceField(
        required=False, choices=[("", _("All hot stages"))] + [(s.value, s.label) for s in HOT_STAGES], label=_("Stage")
    )
    company = forms.CharField(required=False, max_length=SEARCH_MAX, label=_("Company"))
    q = forms.CharField(required=False, max_length=SEARCH_MAX, label=_("Search"))
    new = forms.BooleanField(required=False, label=_("New since yesterday"))

    def clean(self) -> dict:
        for name in ("company", "q"):
            if any(char in _CONTROL for char in self.cleaned_data.get(name, "")):
                self.add_error(name, _("Remove the control characters from this text."))
        return self.cleaned_data

    def filters(self) -> Filters:
        """The valid filters; an invalid one is dropped (the form shows why)."""
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return Filters(**data)


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["kind", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3, "maxlength": 5000})}

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]  # already stripped; an empty one is "required"
        no_control_characters(body)
        return body


class HandbackForm(forms.ModelForm):
    class Meta:
        model = Handback
        fields = ["kind", "reason", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2, "maxlength": 2000})}

    def clean_comment(self) -> str:
        comment = self.cleaned_data["comment"]
        no_control_characters(comment)
        return comment


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=assignable_owners(), label=_("New owner"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners()


class TermsForm(forms.ModelForm):
    """Name, amount and expected close date of an opportunity; a new one may not close in the past."""

    class Meta:
        model = Opportunity
        fields = ["name", "amount", "expected_close"]
        widgets = {"expected_close": forms.DateInput(attrs={"type": "date"}), "amount": forms.NumberInput(
            attrs={"min": 0, "step": 1, "max": int(AMOUNT_MAX)})}  # fmt: skip

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        no_control_characters(name)
        return name

    def clean_amount(self) -> Decimal:
        return amount_problem_free(self.cleaned_data["amount"])

    def clean_expected_close(self) -> date:
        value = self.cleaned_data["expected_close"]
        changed = self.instance.pk is None or value != self.instance.expected_close
        if changed and value < timezone.localdate():
            raise forms.ValidationError(_("The expected close date cannot be in the past."))
        return value

    def terms(self) -> Terms:
        data = self.cleaned_data
        return Terms(name=data["name"], amount=data["amount"], expected_close=data["expected_close"])


def amount_problem_free(amount: Decimal) -> Decimal:
    if amount < 0:
        raise forms.ValidationError(_("The amount cannot be negative."))
    if amount > AMOUNT_MAX:
        raise forms.ValidationError(_("The amount cannot exceed %(max)s.") % {"max": f"{AMOUNT_MAX:,}"})
    return amount


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=Opportunity.Stage.choices, label=_("Stage"))


def convert_initial(lead: Lead) -> dict:
    company = lead.company_name or lead.email
    return {"name": f"{company} - {lead.display_name}".strip(" -"), "expected_close": timezone.localdate()}


def owner_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()
