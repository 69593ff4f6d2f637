"""Builders for form-submission tests: a realistic form, an aged signed token and a post helper."""

import time

from django.core import signing
from django.test import Client, TestCase

from landing.models import Form
from landing.submitting import TOKEN_SALT

WORDING = "株式会社サンプルからのメールでのご案内に同意します。"
VID = "0123456789abcdef0123456789abcdef"

FIELDS = [
    {"key": "email", "type": "email", "label": "メールアドレス", "required": True, "maps_to": "email"},
    {"key": "last_name", "type": "text", "label": "姓", "maps_to": "last_name"},
    {"key": "company", "type": "text", "label": "会社名", "maps_to": "company_name"},
    {"key": "phone", "type": "tel", "label": "電話番号", "maps_to": "phone"},
    {"key": "size", "type": "select", "label": "従業員数", "options": ["1-50", "51-300", "301+"]},
    {"key": "interests", "type": "checkboxes", "label": "関心", "options": ["MA", "SFA"]},
    {"key": "message", "type": "textarea", "label": "お問い合わせ内容", "max_length": 2000},
    {"key": "campaign", "type": "hidden", "default": "utm_campaign"},
    {"key": "consent", "type": "consent", "label": "同意", "wording": WORDING},
]


def make_form(slug: str = "whitepaper", *, fields: list | None = None, **attrs) -> Form:
    attrs = {"name": "資料請求", "published": True, "min_fill_seconds": 2, **attrs}
    return Form.objects.create(slug=slug, fields=FIELDS if fields is None else fields, **attrs)


def aged_token(form: Form, seconds: float = 60) -> str:
    """A token issued `seconds` ago: a person who took that long to fill the form in."""
    return signing.dumps({"f": form.pk, "t": time.time() - seconds}, salt=TOKEN_SALT, compress=False)


def post(client: Client, form: Form, data: dict, *, query: str = "", **headers):
    """Post, then run what follows the commit (tasks run eagerly in tier 1): the state a few seconds later."""
    body = {"_token": aged_token(form), **data}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/f/{form.slug}/{query}", body, **headers)
