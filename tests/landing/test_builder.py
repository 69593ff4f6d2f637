"""The page builder's rules (landing/builder.py) and the admin builders that save through them."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import translation

from landing.builder import MAX_BLOCKS, block_problems, is_safe_url, page_block_problems
from landing.models import Form, LandingPage
from mautomation.roles import MARKETER
from tests.factories import make_user
from tests.landing.page_helpers import EMAIL_FIELD, hero, logged_in, make_form, make_page


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


MARKETER_USER = type("Marketer", (), {"is_superuser": False})()
SUPERUSER = type("Superuser", (), {"is_superuser": True})()

EVERY_BLOCK = [
    hero(button_text="資料請求", button_url="#form", image_url="https://cdn.example.com/hero.png"),
    {"type": "text", "text": "一段落目\n\n二段落目"},
    {"type": "image", "url": "/media/diagram.png", "alt": "構成図"},
    {"type": "cta", "text": "今すぐ申し込む", "url": "https://example.com/apply"},
    {"type": "features", "title": "特長", "items": [{"title": "速い", "text": "数秒で"}]},
    {"type": "testimonial", "quote": "導入して良かった", "name": "山田", "company": "株式会社例"},
    {"type": "logos", "title": "", "images": [{"url": "https://example.com/a.png", "alt": "A社"}]},
    {"type": "columns", "columns": [{"title": "左", "text": ""}, {"title": "右", "text": "説明"}]},
]


def test_every_block_type_with_valid_props_is_accepted() -> None:
    assert block_problems(EVERY_BLOCK, user=MARKETER_USER) == []


def test_unknown_block_type_is_named_with_its_position() -> None:
    assert block_problems([hero(), {"type": "video"}], user=MARKETER_USER) == ["Block 2: unknown type “video”."]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:x", "data:text/html,x"]
)
def test_javascript_and_data_urls_are_refused(url: str) -> None:
    problems = block_problems([{"type": "cta", "text": "go", "url": url}], user=MARKETER_USER)
    assert problems == ["Block 1 (cta): url: must be an http(s) URL or a path starting with /."]


@pytest.mark.parametrize("url", ["https://example.com/x?a=1", "http://example.com", "/p/other/", "#form"])
def test_http_relative_and_anchor_urls_are_safe(url: str) -> None:
    assert is_safe_url(url)


def test_scheme_relative_url_is_not_treated_as_a_path() -> None:
    assert not is_safe_url("//evil.example.com/")


def test_url_inside_a_list_item_is_checked() -> None:
    block = {"type": "logos", "images": [{"url": "javascript:alert(1)", "alt": "x"}]}
    assert block_problems([block], user=MARKETER_USER) == [
        "Block 1 (logos): images: item 1: url: must be an http(s) URL or a path starting with /."
    ]


def test_missing_required_props_are_each_reported() -> None:
    problems = block_problems([{"type": "cta", "text": "", "url": ""}], user=MARKETER_USER)
    assert problems == ["Block 1 (cta): text: this is required.", "Block 1 (cta): url: this is required."]


def test_columns_need_two_or_three() -> None:
    block = {"type": "columns", "columns": [{"title": "only one"}]}
    assert block_problems([block], user=MARKETER_USER) == ["Block 1 (columns): columns: needs 2 to 3 items."]


def test_unknown_property_and_wrong_value_types_are_refused() -> None:
    assert block_problems([{"type": "text", "text": "x", "onclick": "y"}], user=MARKETER_USER) == [
        "Block 1 (text): unknown property “onclick”."
    ]
    assert block_problems([{"type": "text", "text": ["x"]}], user=MARKETER_USER) == [
        "Block 1 (text): text: must be text."
    ]
    assert block_problems({"type": "text"}, user=MARKETER_USER) == ["The blocks must be a list."]
    assert block_problems(["text"], user=MARKETER_USER) == ["Block 1 is not an object."]


def test_html_block_is_refused_from_a_non_superuser_and_accepted_from_a_superuser() -> None:
    blocks = [{"type": "html", "html": "<iframe src='https://video.example.com'></iframe>"}]
    assert block_problems(blocks, user=MARKETER_USER) == [
        "Block 1 (html): only a superuser may add or change raw HTML."
    ]
    assert block_problems(blocks, user=SUPERUSER) == []
    assert block_problems(blocks, user=AnonymousUser()) != []


def test_non_superuser_may_keep_a_superusers_html_block_unchanged_but_not_edit_it() -> None:
    stored = {"type": "html", "html": "<b>by admin</b>"}
    assert block_problems([hero(), stored], user=MARKETER_USER, previous=[stored]) == []
    edited = {"type": "html", "html": "<script>alert(1)</script>"}
    assert block_problems([edited], user=MARKETER_USER, previous=[stored]) != []


def test_a_thousand_blocks_are_refused_with_a_clear_message() -> None:
    problems = block_problems([hero()] * 1000, user=MARKETER_USER)
    assert problems == [f"Too many blocks: 1000 (at most {MAX_BLOCKS})."]


def test_a_one_megabyte_payload_is_refused_with_a_clear_message() -> None:
    problems = block_problems([{"type": "text", "text": "あ" * 350_000}], user=MARKETER_USER)
    assert problems == ["The page is too large: at most 256 KB of blocks."]


@pytest.mark.django_db
def test_form_block_must_name_a_published_form() -> None:
    make_form("live")
    make_form("draft-only", published=False)
    blocks = [{"type": "form", "form": "live"}, {"type": "form", "form": "draft-only"}, {"type": "form", "form": "x"}]
    assert page_block_problems(blocks, user=MARKETER_USER) == [
        "Block 2 (form): no published form “draft-only”.",
        "Block 3 (form): no published form “x”.",
    ]


# --- The admin builders ---------------------------------------------------------------


@pytest.fixture
def marketer(db):
    return logged_in(make_user("marketer", role=MARKETER))


def page_post(page: LandingPage | None, blocks: object, **extra) -> dict:
    data = {"title": "Launch", "slug": "launch", "seo_title": "", "description": "", **extra}
    return data | {"draft_blocks": blocks if isinstance(blocks, str) else json.dumps(blocks, ensure_ascii=False)}


def test_admin_saves_valid_blocks_as_the_draft_only(marketer) -> None:
    page = make_page(published=[hero("公開中")])
    url = reverse("admin:landing_landingpage_change", args=[page.pk])
    response = marketer.post(url, page_post(page, EVERY_BLOCK, _continue="1"))
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.draft_blocks == EVERY_BLOCK
    assert page.blocks == [hero("公開中")]


def test_admin_publish_button_validates_then_copies_the_draft(marketer) -> None:
    response = marketer.post(reverse("admin:landing_landingpage_add"), page_post(None, [hero()], _publish="1"))
    assert response.status_code == 302
    page = LandingPage.objects.get(slug="launch")
    assert page.is_published and page.blocks == [hero()]


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ([{"type": "video"}], "Block 1: unknown type “video”."),
        ([{"type": "cta", "text": "x", "url": "javascript:alert(1)"}], "url: must be an http(s) URL"),
        ([{"type": "html", "html": "<script>x</script>"}], "only a superuser may add or change raw HTML"),
        ([hero()] * 1000, "Too many blocks: 1000"),
        ([{"type": "text", "text": "x" * 1_048_576}], "The page is too large"),
        ("{not json", "Enter a valid JSON."),
    ],
)
def test_admin_refuses_bad_blocks_with_the_message_and_never_publishes(marketer, blocks, message) -> None:
    response = marketer.post(reverse("admin:landing_landingpage_add"), page_post(None, blocks, _publish="1"))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not LandingPage.objects.exists()


def test_superuser_may_save_an_html_block(db) -> None:
    admin = logged_in(make_user("root", superuser=True))
    blocks = [{"type": "html", "html": "<iframe src='https://video.example.com'></iframe>"}]
    response = admin.post(reverse("admin:landing_landingpage_add"), page_post(None, blocks))
    assert response.status_code == 302
    assert LandingPage.objects.get().draft_blocks == blocks


def test_publish_action_publishes_valid_drafts(marketer) -> None:
    page = make_page(draft=[hero("次の版")], published=[hero("旧版")])
    data = {"action": "publish_pages", "_selected_action": [page.pk]}
    marketer.post(reverse("admin:landing_landingpage_changelist"), data)
    page.refresh_from_db()
    assert page.blocks == [hero("次の版")]


def test_page_change_form_shows_the_builder_and_the_preview(marketer) -> None:
    page = make_page()
    body = marketer.get(reverse("admin:landing_landingpage_change", args=[page.pk])).content.decode()
    assert 'data-builder="page"' in body and "landing/page-builder.js" in body and "Sortable.min.js" in body
    assert reverse("landing:page-preview", args=[page.slug]) in body


def form_post(fields: object, **extra) -> dict:
    data = {
        "name": "Contact",
        "slug": "contact",
        "submit_label": "送信",
        "success_action": "message",
        "asset_link_hours": "72",
        "min_fill_seconds": "2",
        **extra,
    }
    return data | {"fields": fields if isinstance(fields, str) else json.dumps(fields, ensure_ascii=False)}


def test_form_builder_saves_fields_that_the_definitions_accept(marketer) -> None:
    response = marketer.post(reverse("admin:landing_form_add"), form_post([EMAIL_FIELD], published="on"))
    assert response.status_code == 302
    assert Form.objects.get(slug="contact").fields == [EMAIL_FIELD]


def test_form_builder_shows_the_definitions_problems(marketer) -> None:
    response = marketer.post(reverse("admin:landing_form_add"), form_post([{**EMAIL_FIELD, "type": "bogus"}]))
    assert response.status_code == 200
    assert "Field 1 (email): the type must be one of" in response.content.decode()
    assert not Form.objects.exists()


def test_form_change_page_shows_builder_hosted_url_and_embed_snippets(marketer, settings) -> None:
    settings.SITE_URL = "https://ma.example.com"
    form = make_form("contact")
    body = marketer.get(reverse("admin:landing_form_change", args=[form.pk])).content.decode()
    assert 'data-builder="form"' in body and "landing/form-builder.js" in body
    assert "https://ma.example.com/f/contact/" in body
    assert "&lt;script src=&quot;https://ma.example.com/f/contact/embed.js&quot; async&gt;&lt;/script&gt;" in body
    assert "&lt;iframe src=&quot;https://ma.example.com/f/contact/?embed=1&quot;" in body
