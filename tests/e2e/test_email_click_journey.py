"""A person clicks a link in an email and lands on the marketer's page: the visit joins their lead."""

import pytest

from leads.models import Activity, VisitorLink
from tests.campaigns.tracking_helpers import CHROME, click_paths, personalized, sent_ago
from tests.factories import make_campaign, make_send
from tests.landing.page_helpers import hero, make_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_click_in_an_email_identifies_the_visitor_on_the_landing_page(browser, live_server, monkeypatch) -> None:
    make_page("launch", published=[hero("新サービス")])
    send = make_send(campaign=make_campaign())
    sent_ago(monkeypatch, 600)
    html = personalized(send.pk, f'<a href="{live_server.url}/p/launch/?utm_source=mail">見る</a>')
    visitor = browser.new_page(locale="ja-JP", user_agent=CHROME)
    errors: list[str] = []
    visitor.on("pageerror", lambda error: errors.append(str(error)))
    with visitor.expect_response("**/t/pv") as beacon:
        visitor.goto(live_server.url + click_paths(html)[0])
    assert beacon.value.status == 204
    assert "mt_lid" not in visitor.url and "utm_source=mail" in visitor.url  # the token left the address bar
    link = VisitorLink.objects.get()
    assert link.lead_id == send.lead_id
    view = Activity.objects.get(kind=Activity.Kind.PAGE_VIEW, url__contains="/p/launch/")
    assert view.lead_id == send.lead_id and "mt_lid" not in view.url
    assert Activity.objects.get(kind=Activity.Kind.EMAIL_CLICKED).lead_id == send.lead_id
    assert errors == []
