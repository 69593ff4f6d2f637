"""Tracked links and the open pixel: what prepare/personalize produce, and what the endpoints record."""

from urllib.parse import parse_qs, urlsplit

import pytest

from campaigns import events, machines, tracking
from leads import stream
from leads.models import Activity, Lead
from leads.views import PIXEL
from mautomation.lib import signing
from mautomation.lib.config import ConfigError, env_networks
from tests.campaigns.tracking_helpers import CHROME, click_paths, personalized, pixel_path, sent_ago
from tests.factories import make_campaign, make_send

pytestmark = pytest.mark.django_db

# --- prepare and personalize (no database) ---------------------------------------


def test_only_absolute_http_links_are_tracked_and_everything_else_is_kept_byte_for_byte():
    html = (
        '<a href="https://a.example/x">a</a><a href="mailto:x@example.com">m</a><a href="tel:0312345678">t</a>'
        '<a href="#top">#</a><a href="/relative">r</a><a href="javascript:alert(1)">j</a>'
        '<a href="{{ unsubscribe_url }}">u</a><a href="https://b.example/?q={{ lead.id }}">tag</a>'
        '<a data-notrack href="https://c.example/">n</a><a href="http://127.0.0.1:8000/e/u/abc.def">own</a>'
        f'<a href="https://d.example/{"x" * 2100}">long</a><A HREF=https://e.example/unquoted>e</A>'
    )
    prepared = tracking.prepare(html)
    assert prepared.links == ("https://a.example/x", "https://e.example/unquoted")
    out = tracking.personalize(prepared, send_id=7)
    for kept in (
        '"mailto:x@example.com"',
        '"#top"',
        '"javascript:alert(1)"',
        "{{ unsubscribe_url }}",
        "{{ lead.id }}",
        "https://c.example/",
        "/e/u/abc.def",
        "x" * 2100,
    ):
        assert kept in out
    assert out.count("/e/c/") == 2


def test_what_counts_as_our_own_link_follows_the_site_url_even_for_a_tag_seen_before(settings):
    """Reading an <a> tag is cached across messages; the cache must not outlive a change of SITE_URL."""
    tag = '<a href="https://ma.example.jp/e/u/abc.def">own</a>'
    settings.SITE_URL = "https://other.example.jp"
    assert tracking.prepare(tag).links == ("https://ma.example.jp/e/u/abc.def",)
    settings.SITE_URL = "https://ma.example.jp"
    assert tracking.prepare(tag).links == ()


def test_each_link_gets_a_click_url_signed_for_this_send_and_its_exact_target():
    out = personalized(41, utm={"utm_source": "ma", "utm_medium": "email"})
    targets = []
    for path in click_paths(out):
        parts = urlsplit(path)
        target = parse_qs(parts.query)["u"][0]
        token = parts.path.rsplit("/", 1)[1]
        assert tracking.read_click(token, target).send_id == 41
        assert tracking.read_click(token, target + "x") is None
        targets.append(target)
    assert targets == [
        "https://www.example.com/doc?id=1&x=2&utm_source=ma&utm_medium=email",
        "http://example.org/seminar?utm_source=ma&utm_medium=email",
    ]


def test_utm_keeps_the_authors_own_values_and_the_fragment():
    url = tracking.add_utm("https://a.example/p?utm_source=own#part", {"utm_source": "ma", "utm_campaign": "nov"})
    assert url == "https://a.example/p?utm_source=own&utm_campaign=nov#part"


def test_the_pixel_goes_before_the_last_closing_body_tag_or_at_the_end():
    out = personalized(5, "<html><BODY>x</BODY ></html>")
    assert out.index("/e/o/") < out.index("</BODY >") and out.endswith("</BODY ></html>")
    bare = personalized(5, "<p>no body tag</p>")
    assert bare.startswith("<p>no body tag</p><img ") and tracking.read_open(pixel_path(bare).rsplit("/", 1)[1])


def test_tokens_differ_per_send_and_a_token_for_one_send_does_not_open_another():
    first, second = personalized(1), personalized(2)
    token = pixel_path(first).rsplit("/", 1)[1]
    assert pixel_path(first) != pixel_path(second)
    forged = "2" + token[1:]  # the send id swapped, the signature kept
    assert tracking.read_open(forged) is None


@pytest.mark.parametrize(
    "token",
    ["", "1", "1.2", "1.2.", "1.2.AAAAAAAAAAAAAAAAAAAA", "1.2.abc!defghijklmnopqrs", "x" * 10_000, "１.２.３"],
)
def test_malformed_or_forged_tokens_are_refused(token):
    assert tracking.read_open(token) is None
    assert tracking.read_click(token, "https://a.example/") is None
    assert tracking.read_unsubscribe(token) is None


def test_a_token_made_for_another_purpose_or_under_another_secret_is_refused(settings):
    unsubscribe = tracking.unsubscribe_token(9)
    assert tracking.read_unsubscribe(unsubscribe) == 9
    assert signing.read(tracking.OPEN, unsubscribe, count=1) is None
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert tracking.read_unsubscribe(unsubscribe) is None


def test_unsubscribe_headers_follow_rfc_8058(settings):
    settings.SITE_URL = "https://ma.example.jp"
    settings.DEFAULT_FROM_EMAIL = "株式会社例 <news@example.jp>"
    headers = tracking.unsubscribe_headers(12)
    token = tracking.unsubscribe_token(12)
    assert headers == {
        "List-Unsubscribe": f"<https://ma.example.jp/e/u/{token}/one-click>, "
        f"<mailto:unsubscribe@example.jp?subject=unsubscribe-{token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert tracking.unsubscribe_url(12) == f"https://ma.example.jp/e/u/{token}"
    settings.UNSUBSCRIBE_EMAIL = "optout@lists.example.jp"
    assert "<mailto:optout@lists.example.jp?" in tracking.unsubscribe_headers(12)["List-Unsubscribe"]


# --- Machine opens and scanner clicks -------------------------------------------------


def hit(user_agent: str = CHROME, *, method: str = "GET", ip: str = "203.0.113.5", since: float | None = 600):
    return machines.Request(method=method, user_agent=user_agent, client_ip=ip, seconds_since_send=since)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (hit(), None),
        (hit(since=None), None),
        (hit("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"), None),
        (hit(method="HEAD"), "head_request"),
        (hit(""), "no_user_agent"),
        (hit("Mozilla/5.0"), "apple_privacy_proxy"),
        (hit(ip="17.58.101.3"), "proxy_network"),
        (hit("python-requests/2.31"), "scanner_user_agent"),
        (hit("Mozilla/5.0 (compatible; Barracuda Sentinel)"), "scanner_user_agent"),
        (hit(since=3), "too_soon_after_send"),
        (hit("Mozilla/5.0 (Linux; Android 9; CUBOT X19) Chrome/120.0"), None),
    ],
)
def test_open_classification(request_, reason):
    assert machines.open_reason(request_) == reason


def test_a_click_half_a_minute_after_sending_is_a_scanner_but_an_open_then_is_a_person():
    assert machines.click_reason(hit(since=20)) == "too_soon_after_send"
    assert machines.open_reason(hit(since=20)) is None
    assert machines.click_reason(hit("Mozilla/5.0")) is None  # Apple's proxy fetches images, not links


def test_configured_gateway_networks_are_machines(settings):
    settings.TRACKING_MACHINE_NETWORKS = ["198.51.100.0/24", "2001:db8::/32"]
    assert machines.click_reason(hit(ip="198.51.100.77")) == "proxy_network"
    assert machines.click_reason(hit(ip="2001:db8::1")) == "proxy_network"
    assert machines.click_reason(hit(ip="not-an-ip")) is None


def test_a_malformed_gateway_network_stops_start_up_with_its_name(monkeypatch):
    monkeypatch.setenv("TRACKING_MACHINE_NETWORKS", "198.51.100.0/24, 10.0.0.300/8")
    with pytest.raises(ConfigError, match="10.0.0.300/8"):
        env_networks("TRACKING_MACHINE_NETWORKS")


# --- The endpoints ---------------------------------------------------------------------


@pytest.fixture
def send():
    return make_send(campaign=make_campaign())


def test_an_open_records_one_activity_in_one_query_and_answers_an_uncached_gif(
    client, send, monkeypatch, django_assert_num_queries
):
    sent_ago(monkeypatch, 600)
    path = pixel_path(personalized(send.pk))
    with django_assert_num_queries(1):
        response = client.get(path, HTTP_USER_AGENT=CHROME)
    assert response.status_code == 200 and response.content == PIXEL and response["Content-Type"] == "image/gif"
    assert "no-store" in response["Cache-Control"]
    opened = Activity.objects.get(kind=Activity.Kind.EMAIL_OPENED)
    assert (opened.lead_id, opened.campaign_id, opened.data) == (send.lead_id, send.campaign_id, {})


def test_a_reloaded_pixel_counts_once_but_a_machine_open_does_not_hide_the_persons(client, send, monkeypatch):
    sent_ago(monkeypatch, 600)
    path = pixel_path(personalized(send.pk))
    for _ in range(3):
        client.get(path, HTTP_USER_AGENT=CHROME)
    client.get(path, HTTP_USER_AGENT="Mozilla/5.0")
    client.head(path, HTTP_USER_AGENT=CHROME)
    rows = Activity.objects.filter(kind=Activity.Kind.EMAIL_OPENED).order_by("pk")
    assert [row.data for row in rows] == [{}, {"machine": True, "reason": "apple_privacy_proxy"}]


def test_an_open_right_after_sending_is_flagged_as_a_machine(client, send):
    client.get(pixel_path(personalized(send.pk)), HTTP_USER_AGENT=CHROME)
    assert Activity.objects.get().data == {"machine": True, "reason": "too_soon_after_send"}


def test_a_tampered_pixel_is_a_plain_404_and_records_nothing(client, send):
    path = pixel_path(personalized(send.pk))
    for bad in (path[:-1], path[:-1] + ("A" if path[-1] != "A" else "B"), path + "x", "/e/o/" + "9" * 5000):
        response = client.get(bad)
        assert response.status_code == 404 and response["Content-Type"].startswith("text/plain")
    assert not Activity.objects.exists()


def test_too_many_bad_tokens_from_one_network_are_refused(client):
    answers = {client.get("/e/o/1.2.AAAAAAAAAAAAAAAAAAAA").status_code for _ in range(125)}
    assert answers == {404, 429}


def test_a_hit_for_a_deleted_send_still_answers_and_records_nothing(client, send, monkeypatch):
    sent_ago(monkeypatch, 600)
    html = personalized(send.pk)
    send.delete()
    assert client.get(pixel_path(html), HTTP_USER_AGENT=CHROME).status_code == 200
    response = client.get(click_paths(html)[1], HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302 and response["Location"] == "http://example.org/seminar"
    assert not Activity.objects.exists()


def test_a_click_records_its_url_and_redirects_there_with_the_leads_identity(client, send, monkeypatch):
    sent_ago(monkeypatch, 600)
    response = client.get(click_paths(personalized(send.pk))[0], HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "www.example.com" and location.path == "/doc"
    query = parse_qs(location.query)
    assert query["id"] == ["1"] and query["x"] == ["2"]
    clicked = Activity.objects.get(kind=Activity.Kind.EMAIL_CLICKED)
    assert clicked.url == "https://www.example.com/doc?id=1&x=2" and clicked.campaign_id == send.campaign_id
    assert signing.read("visitor-identity", query["mt_lid"][0], count=2)[0] == signing.to36(send.lead_id)


def test_a_scanner_click_is_flagged_and_carries_no_identity(client, send, monkeypatch):
    sent_ago(monkeypatch, 600)
    response = client.get(click_paths(personalized(send.pk))[1], HTTP_USER_AGENT="curl/8.0")
    assert response["Location"] == "http://example.org/seminar"
    assert Activity.objects.get().data == {"machine": True, "reason": "scanner_user_agent"}


def test_a_click_never_redirects_to_a_url_it_was_not_signed_for(client, send, monkeypatch):
    sent_ago(monkeypatch, 600)
    path = click_paths(personalized(send.pk))[1]
    token = urlsplit(path).path
    other = make_send(campaign=send.campaign)
    foreign_token = urlsplit(click_paths(personalized(other.pk))[1]).path
    for target in ("https://evil.example/", "javascript:alert(1)", "//evil.example", "http://example.org/seminar/"):
        response = client.get(token, {"u": target})
        assert response.status_code == 404 and "Location" not in response
    assert client.get(token, {"u": "https://a.example/" + "x" * 50_000}).status_code == 404
    assert client.get(token).status_code == 404
    swapped = foreign_token.replace(signing.to36(other.pk), signing.to36(send.pk), 1)
    assert client.get(swapped, {"u": "http://example.org/seminar"}).status_code == 404
    assert not Activity.objects.exists()


def test_the_tracking_endpoints_take_only_get_and_head(client, send):
    path = pixel_path(personalized(send.pk))
    assert client.post(path).status_code == 405
    assert not Activity.objects.exists()


# --- Identity on the marketer's site ----------------------------------------------------

VID = "0123456789abcdef0123456789abcdef"


def test_the_first_page_view_after_a_click_joins_the_visitors_history_to_the_lead(client, send, monkeypatch):
    client.post("/t/pv", {"visitor_id": VID, "url": "https://www.example.com/before"}, content_type="application/json")
    sent_ago(monkeypatch, 600)
    location = client.get(click_paths(personalized(send.pk))[0], HTTP_USER_AGENT=CHROME)["Location"]
    token = parse_qs(urlsplit(location).query)["mt_lid"][0]
    view = {"visitor_id": VID, "url": "https://www.example.com/doc?id=1", "mt_lid": token}
    assert client.post("/t/pv", view, content_type="application/json").status_code == 204
    views = Activity.objects.filter(kind=Activity.Kind.PAGE_VIEW)
    assert views.count() == 2 and set(views.values_list("lead_id", flat=True)) == {send.lead_id}


@pytest.mark.parametrize("age", [0, 2 * 24 * 3600])
def test_a_tampered_or_stale_identity_token_is_ignored(client, send, monkeypatch, age):
    sent_ago(monkeypatch, age)
    from leads.tracking import identity_token

    token = identity_token(send.lead_id)
    token = token[:-1] + ("A" if token[-1] != "A" else "B") if age == 0 else token
    view = {"visitor_id": VID, "url": "https://www.example.com/", "mt_lid": token}
    assert client.post("/t/pv", view, content_type="application/json").status_code == 204
    assert Activity.objects.get().lead_id is None


def test_an_absurd_identity_token_is_refused_with_a_reason(client):
    view = {"visitor_id": VID, "url": "https://www.example.com/", "mt_lid": "x" * 5000}
    response = client.post("/t/pv", view, content_type="application/json")
    assert response.status_code == 400 and "mt_lid" in response.content.decode()


# --- Handing hits to the stream's consumers ---------------------------------------------


def test_dispatch_hands_new_hits_to_consumers_once_and_touches_only_people(client, monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(stream, "_consumers", {})
    stream.register("test", lambda activity: seen.append(activity.pk))
    person, machine = make_send(), make_send()
    sent_ago(monkeypatch, 600)
    client.get(pixel_path(personalized(person.pk)), HTTP_USER_AGENT=CHROME)
    client.get(pixel_path(personalized(machine.pk)), HTTP_USER_AGENT="Mozilla/5.0")
    assert seen == [] and Lead.objects.filter(last_activity_at__isnull=False).count() == 0
    assert events.dispatch_hits(chunk=1) == 2
    assert sorted(seen) == sorted(Activity.objects.values_list("pk", flat=True))
    assert list(Lead.objects.filter(last_activity_at__isnull=False).values_list("pk", flat=True)) == [person.lead_id]
    assert events.dispatch_hits() == 0


def test_a_mark_left_by_another_database_does_not_hide_new_hits(client, monkeypatch):
    from django.core.cache import cache

    cache.set(events.DISPATCHED_MARK, 10**9)
    sent_ago(monkeypatch, 600)
    client.get(pixel_path(personalized(make_send().pk)), HTTP_USER_AGENT=CHROME)
    assert events.dispatch_hits() == 1
    assert cache.get(events.DISPATCHED_MARK) == Activity.objects.get().pk


def test_the_dispatch_command_reports_what_it_handed_over(client, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    sent_ago(monkeypatch, 600)
    client.get(pixel_path(personalized(make_send().pk)), HTTP_USER_AGENT=CHROME)
    out = StringIO()
    call_command("dispatch_email_hits", stdout=out)
    assert out.getvalue().strip() == "dispatched 1"
    assert Activity.objects.get().processed_at is not None  # eager tasks in tier 1


def test_machine_clicks_do_not_score(client, monkeypatch):
    from scoring.models import ScoreEntry, ScoringRule

    ScoringRule.objects.create(name="click", event_kind=Activity.Kind.EMAIL_CLICKED, points=10)
    person, scanner = make_send(), make_send()
    sent_ago(monkeypatch, 600)
    client.get(click_paths(personalized(person.pk))[0], HTTP_USER_AGENT=CHROME)
    client.get(click_paths(personalized(scanner.pk))[0], HTTP_USER_AGENT=CHROME, REMOTE_ADDR="17.1.2.3")
    events.dispatch_hits()
    assert list(ScoreEntry.objects.values_list("lead_id", flat=True)) == [person.lead_id]
    assert Lead.objects.get(pk=person.lead_id).score == 10 and Lead.objects.get(pk=scanner.lead_id).score == 0
