"""Seed for bench_sending, run inside the project's settings: leads, two lists, a template, two campaigns.

python -m bench.sending_seed SMALL LARGE  prints {"small": id, "large": id} (campaign ids).
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")


def main(small: int, large: int) -> dict[str, int]:
    import django

    django.setup()
    from campaigns.models import Campaign, EmailTemplate, SenderIdentity
    from leads.models import Lead, LeadList, ListMembership
    from mautomation.lib.normalize import email_key

    SenderIdentity.objects.update_or_create(
        pk=1,
        defaults={"name": "株式会社ベンチ", "postal_address": "東京都千代田区1-1", "contact_email": "info@example.com"},
    )
    template = EmailTemplate.objects.create(
        name="bench", subject="【ご案内】{{ lead.last_name }}様へ", html=HTML, text=TEXT
    )
    lists = {size: LeadList.objects.create(name=f"bench {size}") for size in (small, large)}
    for start in range(0, large, 5000):
        leads = Lead.objects.bulk_create(
            Lead(email=f"lead{n:06d}@bench.example", email_key=email_key(f"lead{n:06d}@bench.example"),
                 last_name="山田", first_name=f"太郎{n}", company_name="株式会社サンプル", consent=True)
            for n in range(start, min(large, start + 5000))
        )  # fmt: skip
        members = [ListMembership(lead_list=lists[large], lead=lead) for lead in leads]
        members += [
            ListMembership(lead_list=lists[small], lead=lead) for lead in leads if lead.email < f"lead{small:06d}"
        ]
        ListMembership.objects.bulk_create(members)
    ids = {}
    for name, size in (("small", small), ("large", large)):
        campaign = Campaign.objects.create(name=f"bench {size}", template=template, utm_campaign="bench")
        campaign.lists.add(lists[size])
        ids[name] = campaign.pk
    return ids


# About 20 KB once inlined, 15 tracked links: a typical Japanese BtoB newsletter.
PARAGRAPH = "<p class='body'>製造業のお客様を中心に、マーケティングオートメーションの導入が進んでいます。" * 10 + "</p>"
HTML = (
    "<html><head><style>.body { font-size: 15px; line-height: 1.8; color: #333 } "
    "a.cta { background: #0b63ce; color: #fff; padding: 8px 16px } h2 { font-size: 18px }</style></head><body>"
    "<p>{{ lead.last_name }} {{ lead.first_name }} 様</p><p>{{ lead.company_name | fallback('貴社') }}の皆様へ</p>"
    + "".join(
        f"<h2>トピック {i}</h2>{PARAGRAPH}<p><a class='cta' href='https://www.example.co.jp/topic/{i}/'>"
        f"詳しく見る</a></p>"
        for i in range(15)
    )  # fmt: skip
    + "</body></html>"
)
TEXT = "{{ lead.last_name }} {{ lead.first_name }} 様\n\n" + "製造業のお客様を中心に導入が進んでいます。\n" * 40


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
