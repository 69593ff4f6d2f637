"""Admin forms: the lead form with one real field per custom field, merging, custom fields, consent."""

from django import forms
from django.utils.translation import gettext_lazy as _

from leads.models import CustomField, Lead
from leads.validation import TEXT_FIELDS, clean_custom, clean_email, clean_text
from mautomation.lib.normalize import email_key

CUSTOM_PREFIX = "custom__"
MAX_MERGE = 50


def custom_field_name(key: str) -> str:
    return CUSTOM_PREFIX + key


def custom_form_field(field: CustomField) -> forms.Field:
    """A form field typed by kind; values are still checked by clean_custom, like every ingest path."""
    if field.kind == CustomField.Kind.CHOICE:
        choices = [("", "---------"), *((str(choice), str(choice)) for choice in field.choices)]
        return forms.ChoiceField(label=field.label, choices=choices, required=False)
    widgets = {
        CustomField.Kind.NUMBER: forms.TextInput(attrs={"inputmode": "decimal"}),
        CustomField.Kind.DATE: forms.DateInput(attrs={"type": "date"}),
    }
    widget = widgets.get(field.kind, forms.TextInput(attrs={"class": "vTextField"}))
    return forms.CharField(label=field.label, required=False, max_length=1000, widget=widget)


class LeadAdminForm(forms.ModelForm):
    """Lead fields checked with the ingest rules; custom values saved into Lead.custom."""

    custom_fields: list[CustomField] = []

    class Meta:
        model = Lead
        # Lead.custom is edited through the generated fields, never as raw JSON.
        fields = (
            "email",
            *TEXT_FIELDS,
            "company",
            "stage",
            "owner",
            "tags",
            "email_status",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        values = self.instance.custom or {}
        for field in self.custom_fields:
            if values.get(field.key) not in ("", None):
                self.initial.setdefault(custom_field_name(field.key), str(values[field.key]))

    def clean_email(self) -> str:
        value, reason = clean_email(self.cleaned_data.get("email", ""))
        if reason:
            raise forms.ValidationError(reason)
        if Lead.objects.filter(email_key=email_key(value)).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Another lead already has this email address."))
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in TEXT_FIELDS.keys() & cleaned.keys():
            cleaned[name], reason = clean_text(name, cleaned[name])
            if reason:
                self.add_error(name, reason)
        self.instance.custom = self._cleaned_custom(cleaned)
        return cleaned

    def _cleaned_custom(self, cleaned: dict) -> dict:
        """The lead's custom dict with this form's values; keys without a definition are kept."""
        custom = dict(self.instance.custom or {})
        for field in self.custom_fields:
            name = custom_field_name(field.key)
            value, reason = clean_custom(field, cleaned.get(name) or "")
            if reason:
                self.add_error(name, reason)
            elif value == "":
                custom.pop(field.key, None)
            else:
                custom[field.key] = value
        return custom


def lead_admin_form(custom_fields: list[CustomField]) -> type[LeadAdminForm]:
    """A LeadAdminForm class with one declared field per custom field definition."""
    declared = {custom_field_name(field.key): custom_form_field(field) for field in custom_fields}
    return type("LeadAdminForm", (LeadAdminForm,), {**declared, "custom_fields": list(custom_fields)})


class MergeForm(forms.Form):
    """Which of the selected leads to keep; the others are merged into it."""

    winner = forms.ModelChoiceField(queryset=Lead.objects.none(), label=_("Lead to keep"), empty_label=None)

    def __init__(self, *args, leads: list[Lead], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.leads = leads
        self.fields["winner"].queryset = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        # The oldest record is usually the one other systems already know.
        self.fields["winner"].initial = min(leads, key=lambda lead: (lead.created_at, lead.pk)).pk if leads else None

    def clean(self) -> dict:
        cleaned = super().clean()
        if not 2 <= len(self.leads) <= MAX_MERGE:
            raise forms.ValidationError(
                _("Select between 2 and %(max)d leads to merge.") % {"max": MAX_MERGE}, code="count"
            )
        return cleaned

    @property
    def losers(self) -> list[Lead]:
        winner = self.cleaned_data["winner"]
        return [lead for lead in self.leads if lead.pk != winner.pk]


def leads_to_merge(raw_ids: list[str]) -> list[Lead]:
    """The leads named by submitted ids, oldest first; ids that are not ids are ignored."""
    ids = [pk for pk in map(as_id, raw_ids) if pk is not None][: MAX_MERGE + 1]
    return list(Lead.objects.filter(pk__in=ids).select_related("company", "owner").order_by("created_at", "pk"))


def as_id(raw: str) -> int | None:
    """A submitted primary key, or None for anything else (words, "²", numbers beyond a bigint)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


class ChoicesField(forms.CharField):
    """A list of choices typed one per line."""

    widget = forms.Textarea(attrs={"rows": 5})

    def prepare_value(self, value: object) -> object:
        return "\n".join(map(str, value)) if isinstance(value, list) else value

    def to_python(self, value: str | None) -> list[str]:
        lines = (line.strip() for line in (value or "").splitlines())
        return list(dict.fromkeys(line for line in lines if line))


class CustomFieldForm(forms.ModelForm):
    choices = ChoicesField(label=_("choices"), required=False, help_text=_("One choice per line (choice fields only)."))

    class Meta:
        model = CustomField
        fields = ("key", "label", "kind", "choices")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("kind") == CustomField.Kind.CHOICE and not cleaned.get("choices"):
            self.add_error("choices", _("A choice field needs at least one choice."))
        elif cleaned.get("kind") != CustomField.Kind.CHOICE:
            cleaned["choices"] = []
        if any(len(choice) > 200 for choice in cleaned.get("choices") or []):
            self.add_error("choices", _("A choice may be at most 200 characters long."))
        return cleaned


class RevokeConsentForm(forms.Form):
    reason = forms.CharField(label=_("revocation reason"), max_length=255)
