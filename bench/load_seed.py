"""Seed for bench_load, run inside the project's settings (its own database): everything the load run uses.

python -m bench.load_seed HITS RECIPIENTS PATHS_FILE  prints one JSON object:
- a published form (email, company, consent; minimum fill time 2 s) and its signed form token;
- a published landing page with blocks and that form;
- a campaign already sent to HITS leads, whose open and click paths (signed with the
  server's key, as sent ten minutes ago so the hits count as a person's) go to PATHS_FILE,
  one "open click" pair per line;
- a draft broadcast to a list of RECIPIENTS leads, started by the load run itself;
- a marketer's API token; scoring rules for form submits and email clicks (every time),
  so the run also shows that no score is counted twice.
"""

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")

FORM_DOMAIN, API_DOMAIN, HITS_DOMAIN, MAIL_DOMAIN = (
    "load-form.example", "load-api.example", "load-hits.example", "load-mail.example",
)  # fmt: skip
FIELDS = [
    {"key": "email", "type": "email", "label": "メールアドレス", "required": True, "maps_to": "email"},
    {"key": "company", "type": "text", "label": "会社名", "maps_to": "company_name"},
    {"key": "consent", "type": "consent", "label": "同意", "wording": "メールでのご案内に同意します。"},
]
BLOCKS = [
    {"type": "hero", "title": "マーケティングを自動化", "text": "資料を無料でお送りします。", "image_url": "",
     "button_text": "資料請求", "button_url": "#form"},
    {"type": "text", "text": "BtoB のリード獲得から商談化までを一つの仕組みで。" * 20},
    {"type": "features", "title": "特長", "items": [{"title": "一元管理", "text": "リードと行動履歴をひとつに。"}] * 6},
    {"type": "form", "form": "load"},
]  # fmt: skip
LINK_HTML = '<html><body><a href="https://www.example.co.jp/whitepaper?id=7">DL</a></body></html>'


def main(hits: int, recipients: int, paths_file: str) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from landing.submitting import issue_token

    form, page_slug = _form_and_page()
    user = User.objects.create_user("load-api")
    user.groups.add(Group.objects.get(name="marketer"))
    return {
        "form_id": form.pk, "form_slug": form.slug, "form_token": issue_token(form), "page_slug": page_slug,
        "hits_campaign": _sent_campaign(hits, paths_file), "broadcast": _broadcast(recipients),
        "api_token": Token.objects.create(user=user).key, "rules": _rules(form.pk),
    }  # fmt: skip


def _form_and_page():
    from landing.models import Form, LandingPage

    form = Form.objects.create(name="load", slug="load", fields=FIELDS, published=True, min_fill_seconds=2)
    page = LandingPage.objects.create(title="load", slug="load", draft_blocks=BLOCKS)
    page.publish()
    return form, page.slug


def _rules(form_id: int) -> dict[str, int]:
    from scoring.models import ScoringRule

    every = ScoringRule.Frequency.EVERY
    form = ScoringRule.objects.create(name="load form", event_kind="form_submit", form_id=form_id, points=10,
                                      frequency=every)  # fmt: skip
    click = ScoringRule.objects.create(name="load click", event_kind="email_clicked", points=3, frequency=every)
    return {"form_submit": form.pk, "email_clicked": click.pk}


def _sent_campaign(count: int, paths_file: str) -> int:
    """A campaign whose `count` sends went out ten minutes ago; their pixel and click paths to paths_file."""
    from campaigns import tracking
    from campaigns.models import Campaign, Send
    from leads.models import Lead
    from mautomation.lib import signing

    campaign = Campaign.objects.create(name="load sent", status=Campaign.Status.SENT)
    leads = Lead.objects.bulk_create(
        [Lead(email=f"h{i}@{HITS_DOMAIN}", email_key=f"h{i}@{HITS_DOMAIN}", consent=True) for i in range(count)],
        batch_size=5000,
    )
    sends = Send.objects.bulk_create(
        [Send(source="load-sent", campaign=campaign, lead=lead, email=lead.email, status="sent") for lead in leads],
        batch_size=5000,
    )
    past = signing.to36(int(time.time()) - signing.EPOCH - 600)
    signing.now_field = lambda: past
    prepared = tracking.prepare(LINK_HTML)
    with open(paths_file, "w") as out:
        for send in sends:
            html = tracking.personalize(prepared, send_id=send.pk, utm={"utm_source": "mautomation"})
            click = "/e/c/" + html.split('href="', 1)[1].split('"', 1)[0].split("/e/c/", 1)[1]
            pixel = "/e/o/" + html.split('<img src="', 1)[1].split('"', 1)[0].split("/e/o/", 1)[1]
            out.write(f"{pixel} {click}\n")
    return campaign.pk


def _broadcast(count: int) -> int:
    from bench.sending_seed import HTML, TEXT
    from campaigns.models import Campaign, EmailTemplate, SenderIdentity
    from leads.models import Lead, LeadList, ListMembership

    sender = {"name": "株式会社ベンチ", "postal_address": "東京都千代田区1-1", "contact_email": "info@example.com"}
    SenderIdentity.objects.update_or_create(pk=1, defaults=sender)
    subject = "【ご案内】{{ lead.last_name }}様へ"
    template = EmailTemplate.objects.create(name="load", subject=subject, html=HTML, text=TEXT)
    audience = LeadList.objects.create(name="load broadcast")
    leads = Lead.objects.bulk_create(
        [Lead(email=f"m{i}@{MAIL_DOMAIN}", email_key=f"m{i}@{MAIL_DOMAIN}", last_name="山田", first_name=f"太郎{i}",
              company_name="株式会社サンプル", consent=True) for i in range(count)], batch_size=5000,
    )  # fmt: skip
    ListMembership.objects.bulk_create([ListMembership(lead_list=audience, lead=lead) for lead in leads])
    campaign = Campaign.objects.create(name="load broadcast", template=template, utm_campaign="load")
    campaign.lists.add(audience)
    return campaign.pk


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
