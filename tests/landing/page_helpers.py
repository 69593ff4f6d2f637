"""Builders for landing-page tests."""

from django.test import Client

from landing.models import Form, LandingPage

EMAIL_FIELD = {
    "key": "email",
    "type": "email",
    "label": "メールアドレス",
    "placeholder": "",
    "help": "",
    "required": True,
    "maps_to": "email",
    "options": [],
    "max_length": None,
    "default": "",
    "wording": "",
}


def make_form(slug: str = "contact", *, published: bool = True, **fields) -> Form:
    return Form.objects.create(name=slug.title(), slug=slug, fields=[EMAIL_FIELD], published=published, **fields)


def make_page(slug: str = "launch", *, draft=None, published=None, **fields) -> LandingPage:
    """A page with these draft blocks; with `published` blocks it is also published."""
    page = LandingPage.objects.create(title=slug.title(), slug=slug, draft_blocks=draft or [], **fields)
    if published is not None:
        page.draft_blocks = published
        page.publish()
        page.draft_blocks = draft or []
        page.save(update_fields=["draft_blocks"])
    return page


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def hero(title: str = "新製品のご紹介", **props) -> dict:
    return {"type": "hero", "title": title, "text": "", "image_url": "", "button_text": "", "button_url": "", **props}
