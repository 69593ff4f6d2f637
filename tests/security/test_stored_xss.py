"""Stored XSS: payloads saved in every text field are shown escaped on every page of the admin, the sales
workspace, the hosted forms and landing pages, and in the emails; raw HTML stays a superuser's privilege."""

import json

import pytest
from django.test import TestCase

from campaigns import composing
from landing.models import LandingPage, Submission
from leads.models import Activity
from tests.factories import make_lead, make_sender, make_template, make_user
from tests.landing.form_helpers import aged_token
from tests.landing.form_helpers import make_form as make_full_form
from tests.security import routes, world
from tests.security.outcomes import client_for
from tests.security.poison import PAYLOAD, live_markers, poison

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["superuser", "sales", "anonymous"])
def test_payloads_in_every_text_field_are_escaped_on_every_page(role):
    people = world.users()
    objects = world.build(people)
    poison(objects)
    client = client_for(people[role])
    live, shown = [], 0
    for route in routes.all_routes():
        response = client.get(route.url(objects))
        if response.status_code >= 500:
            live.append(f"{route.route}: {response.status_code}")
        elif response.get("Content-Type", "").startswith("text/html") and not response.streaming:
            body = response.content.decode()
            shown += "&lt;script&gt;x()" in body
            live += [f"{route.route}: {marker}" for marker in live_markers(body)]
    assert live == []
    assert shown >= {"superuser": 60, "sales": 3, "sales_staff": 25, "anonymous": 2}[role]


def test_a_rendered_email_shows_the_leads_payload_escaped_in_html():
    make_sender()
    lead = make_lead(last_name=PAYLOAD, company_name=PAYLOAD, custom={"budget": PAYLOAD})
    html = "<p>{{ lead.last_name }} {{ lead.company_name | fallback('貴社') }} {{ lead.custom.budget }}</p>"
    out = composing.preview(template=make_template(html=html, subject="{{ lead.last_name }}"), lead=lead)
    assert live_markers(out.html) == []
    assert out.html.count("&lt;script&gt;x()&lt;/script&gt;") == 3
    assert "\n" not in out.subject and "6170" not in out.subject + out.text


def test_a_refused_form_post_shows_the_posted_payload_escaped():
    form = make_full_form()
    data = {"_token": aged_token(form), "email": "not-an-address" + PAYLOAD, "last_name": PAYLOAD, "message": PAYLOAD}
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client_for(None).post(f"/f/{form.slug}/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert live_markers(body) == [] and "&lt;script&gt;x()" in body


def page_post(user, blocks: list) -> tuple[int, bool]:
    data = {"title": "LP", "slug": "raw", "seo_title": "", "description": "", "og_image": "",
            "draft_blocks": json.dumps(blocks)}  # fmt: skip
    response = client_for(user).post("/admin/landing/landingpage/add/", data)
    return response.status_code, LandingPage.objects.filter(slug="raw").exists()


def test_a_marketer_cannot_save_a_raw_html_block_but_a_superuser_can():
    blocks = [{"type": "html", "html": "<script>x()</script>"}]
    assert page_post(make_user("marketer", role="marketer"), blocks) == (200, False)
    assert page_post(make_user("root", superuser=True), blocks) == (302, True)


def test_javascript_links_in_page_blocks_are_refused_for_everyone():
    root = make_user("root", superuser=True)
    for url in ("javascript:x()", " JaVaScRiPt:x()", "data:text/html,x", "//evil.com/x"):
        blocks = [{"type": "cta", "text": "資料", "url": url}]
        assert page_post(root, blocks) == (200, False)


SCRIPT_URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<script>x()</script>",
    "vbscript:x", "//evil.example/x",
]  # fmt: skip


@pytest.mark.parametrize("url", SCRIPT_URLS)
def test_a_script_url_is_never_recorded_where_pages_later_show_it_as_a_link(url):
    """Page views, API events and form visits keep http(s) URLs only, so no stored link can run script."""
    body = json.dumps({"visitor_id": "0123456789abcdef0123456789abcdef", "url": url})
    assert client_for(None).post("/t/pv", body, content_type="text/plain").status_code == 400
    referrer = {"visitor_id": "0123456789abcdef0123456789abcdef", "url": "https://www.example.com/", "referrer": url}
    assert client_for(None).post("/t/pv", json.dumps(referrer), content_type="text/plain").status_code == 400
    api = client_for(make_user("root", superuser=True))
    event = {"kind": "page_view", "email": "a@example.co.jp", "create_lead": True, "url": url}
    response = api.post("/api/v1/events/", json.dumps(event), content_type="application/json")
    assert response.status_code == 400 and "url" in response.json()
    form = make_full_form()
    data = {"_token": aged_token(form), "email": "b@example.co.jp", "_page": url, "_ref": url}
    with TestCase.captureOnCommitCallbacks(execute=True):
        client_for(None).post(f"/f/{form.slug}/", data)
    assert list(Submission.objects.values_list("page_url", "referrer")) == [("", "")]
    assert not Activity.objects.filter(url__icontains=url.strip()[:8]).exists()
