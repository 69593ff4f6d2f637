"""Hosted landing pages: visitors see the published version only, staff preview the draft, nothing is unescaped."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from landing import page_cache
from landing.models import LandingPage
from mautomation.roles import MARKETER, SALES
from tests.factories import make_user
from tests.landing.page_helpers import hero, logged_in, make_form, make_page

pytestmark = pytest.mark.django_db

XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def page_html(client, slug: str = "launch") -> str:
    response = client.get(reverse("landing:page", args=[slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_visitors_see_the_published_blocks_not_the_draft(client) -> None:
    make_page(draft=[hero("下書きの見出し")], published=[hero("公開中の見出し")])
    body = page_html(client)
    assert "公開中の見出し" in body
    assert "下書きの見出し" not in body


def test_unpublished_and_unknown_pages_are_404(client) -> None:
    make_page("secret", draft=[hero()])
    assert client.get(reverse("landing:page", args=["secret"])).status_code == 404
    assert client.get(reverse("landing:page", args=["nothing"])).status_code == 404


def test_publishing_copies_the_draft_to_what_visitors_see(client) -> None:
    page = make_page(draft=[hero("第二版")], published=[hero("第一版")])
    page.publish()
    assert "第二版" in page_html(client)


def test_page_has_seo_title_description_open_graph_theme_and_tracking(client) -> None:
    make_page(seo_title="製品 | 例社", description="説明文", published=[hero()])
    body = page_html(client)
    assert "<title>製品 | 例社</title>" in body
    assert '<meta name="description" content="説明文">' in body
    assert '<meta property="og:title" content="製品 | 例社">' in body
    assert '<meta property="og:description" content="説明文">' in body
    assert "landing/theme.css" in body
    assert 'src="/static/leads/track.js" data-endpoint="/t/"' in body


def test_open_graph_image_is_an_absolute_url(client) -> None:
    page = make_page(published=[hero()])
    LandingPage.objects.filter(pk=page.pk).update(og_image="og/2026/01/card.png")
    assert '<meta property="og:image" content="http://testserver/media/og/2026/01/card.png">' in page_html(client)


def test_form_block_renders_the_published_form(client) -> None:
    make_form("contact")
    make_page(published=[hero(), {"type": "form", "form": "contact"}])
    body = page_html(client)
    assert 'action="/f/contact/"' in body
    assert 'name="email"' in body


def test_form_block_of_an_unpublished_form_shows_no_form(client) -> None:
    make_form("contact", published=False)
    make_page(published=[{"type": "form", "form": "contact"}])
    assert 'action="/f/contact/"' not in page_html(client)


def test_page_without_forms_is_cacheable_and_answers_304_to_its_etag(client) -> None:
    make_page(published=[hero()])
    response = client.get(reverse("landing:page", args=["launch"]))
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    again = client.get(reverse("landing:page", args=["launch"]), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_page_with_a_form_is_never_shared_by_caches(client) -> None:
    make_form("contact")
    make_page(published=[{"type": "form", "form": "contact"}])
    assert "private" in client.get(reverse("landing:page", args=["launch"]))["Cache-Control"]


def test_page_without_forms_is_rendered_once_then_served_without_a_query(client, django_assert_num_queries) -> None:
    make_page(published=[hero(), {"type": "text", "text": "本文"}])
    with django_assert_num_queries(2):  # the versions, then the blocks to render
        first = page_html(client)
    with django_assert_num_queries(0):  # the versions are this process's for VERSION_TTL seconds
        assert page_html(client) == first


def test_page_with_forms_is_rendered_once_then_served_without_a_query(client, django_assert_num_queries) -> None:
    make_form("contact")
    make_form("seminar")
    blocks = [hero(), {"type": "form", "form": "contact"}, {"type": "form", "form": "seminar"}]
    make_page(published=blocks)
    with django_assert_num_queries(3):  # the versions, the blocks, the forms
        page_html(client)
    with django_assert_num_queries(0):
        again = page_html(client)
    assert again.count('name="_token"') == 2 and "mauto-mark" not in again


def test_a_publish_in_another_process_shows_once_the_versions_are_read_again(
    client, monkeypatch, django_assert_num_queries
) -> None:
    """Another process's publish sends no signal here: the versions are read again after VERSION_TTL."""
    clock = [1000.0]
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: clock[0])
    page = make_page(published=[hero("第一版")])
    assert "第一版" in page_html(client)
    LandingPage.objects.filter(pk=page.pk).update(blocks=[hero("第二版")], published_at=timezone.now())
    clock[0] += page_cache.VERSION_TTL / 2
    assert "第一版" in page_html(client)
    clock[0] += page_cache.VERSION_TTL
    with django_assert_num_queries(2):  # the versions, then the new blocks
        assert "第二版" in page_html(client)
    LandingPage.objects.filter(pk=page.pk).update(published_at=None)
    clock[0] += page_cache.VERSION_TTL + 1
    assert client.get(reverse("landing:page", args=["launch"])).status_code == 404


def test_each_visitor_gets_their_own_tokens_and_visit_in_a_served_page(client) -> None:
    make_form("contact")
    make_page(published=[hero(), {"type": "form", "form": "contact"}])
    page_html(client)  # rendered once
    other = Client()
    html = other.get(
        reverse("landing:page", args=["launch"]) + "?utm_source=a%26b", HTTP_REFERER="https://x.jp/?q=<b>"
    ).content.decode()
    assert other.cookies["csrftoken"].value and 'name="csrfmiddlewaretoken" value="' in html
    assert "utm_source=a%26b" in html and "https://x.jp/?q=&lt;b&gt;" in html and "<b>" not in html


def test_a_form_edit_changes_the_pages_that_show_it_at_once(client) -> None:
    form = make_form("contact")
    make_page(published=[hero(), {"type": "form", "form": "contact"}])
    assert 'name="_token"' in page_html(client)
    form.published = False
    form.save()
    assert 'name="_token"' not in page_html(client)


# --- Preview ---------------------------------------------------------------------


def test_preview_shows_the_draft_to_a_marketer(db) -> None:
    make_page(draft=[hero("下書き")], published=[hero("公開版")])
    response = logged_in(make_user("marketer", role=MARKETER)).get(reverse("landing:page-preview", args=["launch"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "下書き" in body and "公開版" not in body
    assert "track.js" not in body  # staff previews are not page views
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_preview_of_an_unpublished_page_works(db) -> None:
    make_page(draft=[hero("まだ非公開")])
    client = logged_in(make_user("marketer", role=MARKETER))
    assert "まだ非公開" in client.get(reverse("landing:page-preview", args=["launch"])).content.decode()


def test_preview_sends_anonymous_visitors_to_the_login_page(client) -> None:
    make_page(draft=[hero()])
    response = client.get(reverse("landing:page-preview", args=["launch"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_preview_is_forbidden_to_sales(db) -> None:
    make_page(draft=[hero()])
    response = logged_in(make_user("sales", role=SALES)).get(reverse("landing:page-preview", args=["launch"]))
    assert response.status_code == 403


# --- Escaping ----------------------------------------------------------------------

XSS_BLOCKS = [
    hero(XSS, text=XSS, button_text=XSS, button_url="/x?" + XSS.replace(" ", "")),
    {"type": "text", "text": XSS},
    {"type": "image", "url": "https://example.com/a.png", "alt": XSS},
    {"type": "cta", "text": XSS, "url": "https://example.com/"},
    {"type": "features", "title": XSS, "items": [{"title": XSS, "text": XSS}]},
    {"type": "testimonial", "quote": XSS, "name": XSS, "company": XSS},
    {"type": "logos", "title": XSS, "images": [{"url": "https://example.com/l.png", "alt": XSS}]},
    {"type": "columns", "columns": [{"title": XSS, "text": XSS}, {"title": XSS, "text": XSS}]},
]


def test_stored_xss_in_every_block_field_is_escaped(client) -> None:
    make_page(seo_title=XSS, description=XSS, published=XSS_BLOCKS)
    body = page_html(client)
    assert "<script>alert(1)" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_javascript_urls_stored_behind_the_builders_back_are_not_linked(client) -> None:
    blocks = [
        hero(button_text="go", button_url="javascript:alert(1)", image_url="javascript:alert(2)"),
        {"type": "cta", "text": "cta", "url": "javascript:alert(3)"},
        {"type": "logos", "images": [{"url": "javascript:alert(4)", "alt": "x"}]},
    ]
    make_page(published=blocks)
    assert "javascript:" not in page_html(client)


def test_superusers_html_block_is_output_raw(client) -> None:
    make_page(published=[{"type": "html", "html": '<div class="embed-video">video</div>'}])
    assert '<div class="embed-video">video</div>' in page_html(client)


def test_form_block_posts_the_pages_utm_parameters_and_url_along(client) -> None:
    make_form("contact")
    make_page(published=[{"type": "form", "form": "contact"}])
    body = client.get(reverse("landing:page", args=["launch"]), {"utm_source": "mail", "utm_medium": "<x>"}).content
    assert 'action="/f/contact/?utm_source=mail&amp;utm_medium=%3Cx%3E"' in body.decode()
    assert 'name="_page" value="http://testserver/p/launch/?utm_source=mail&amp;utm_medium=%3Cx%3E"' in body.decode()
