"""Demo data: users for each role, a few hundred leads with activity, and one of each MA object.

Idempotent: objects are looked up by a natural key and created only when
missing, so running it twice changes nothing. Deterministic: a seeded RNG.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, EmailTemplate, SenderIdentity
from landing.models import Form, LandingPage
from leads.models import Activity, Company, Lead
from mautomation.lib import normalize
from mautomation.roles import MARKETER, SALES
from sales.models import Opportunity
from sales.opportunities import Terms, convert
from scoring.models import ScoringRule, ScoringSettings
from scoring.rescore import rebuild_ledger

LAST_NAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
]
FIRST_NAMES = ["太郎", "花子", "健一", "美咲", "翔太", "陽子", "大輔", "由美", "直樹", "愛", "誠", "恵", "拓也", "彩"]
COMPANIES = [
    ("株式会社アルファ商事", "alpha-shoji.example"),
    ("ベータ工業株式会社", "beta-kogyo.example"),
    ("㈱ガンマシステムズ", "gamma-sys.example"),
    ("デルタ物流(株)", "delta-logi.example"),
    ("イプシロン合同会社", "epsilon.example"),
    ("Zeta Software Inc.", "zeta-soft.example"),
    ("有限会社イータ印刷", "eta-print.example"),
    ("シータ製薬株式会社", "theta-pharma.example"),
]
TITLES = ["部長", "課長", "主任", "マネージャー", "担当", "役員", ""]
PAGES = ["/", "/pricing/", "/case-studies/manufacturing/", "/case-studies/it/", "/blog/ma-basics/", "/seminar/"]
USERS = {"admin": None, "marketer": MARKETER, "sales": SALES}


@dataclass
class DemoSummary:
    users_created: int
    leads_created: int
    activities_created: int


@transaction.atomic
def load_demo(*, leads: int = 300, seed: int = 20261123) -> DemoSummary:
    rng = random.Random(seed)
    users = _users()
    _scoring_rules()
    campaign = _campaign()
    form = _form_and_page()
    created = _leads(rng, leads, owner=users["sales"])
    activities = _activities(rng, created, campaign=campaign, form=form)
    if created:
        rebuild_ledger()
        _mark_hot_leads(owners=[users["sales"], users["admin"]])
    _opportunity(owner=users["sales"])
    return DemoSummary(
        users_created=sum(u._state.adding for u in users.values()),
        leads_created=len(created),
        activities_created=activities,
    )


def _users() -> dict:
    User = get_user_model()
    users = {}
    for username, role in USERS.items():
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"is_staff": True, "is_superuser": role is None, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(username)  # demo only: the command refuses to run in production
            user.save(update_fields=["password"])
        if role:
            user.groups.add(Group.objects.get(name=role))
        user._state.adding = created
        users[username] = user
    return users


def _scoring_rules() -> None:
    specs = [
        ("事例ページ閲覧", Activity.Kind.PAGE_VIEW, "/case-studies/", 5),
        ("料金ページ閲覧", Activity.Kind.PAGE_VIEW, "/pricing/", 10),
        ("資料請求", Activity.Kind.FORM_SUBMIT, "", 20),
        ("メール開封", Activity.Kind.EMAIL_OPENED, "", 1),
        ("メールクリック", Activity.Kind.EMAIL_CLICKED, "", 3),
    ]
    for name, kind, pattern, points in specs:
        ScoringRule.objects.get_or_create(
            name=name, defaults={"event_kind": kind, "url_pattern": pattern, "points": points}
        )
    return list(ScoringRule.objects.all())


def _campaign() -> Campaign:
    if not SenderIdentity.objects.exists():
        SenderIdentity.objects.create(
            name="株式会社デモ",
            postal_address="〒100-0001 東京都千代田区千代田1-1",
            contact_email="info@example.com",
            contact_phone="03-0000-0000",
        )
    template, _ = EmailTemplate.objects.get_or_create(
        name="ホワイトペーパー案内",
        defaults={
            "subject": "【無料資料】MA導入のチェックリスト",
            "preheader": "導入前に確認したい6つの条件",
            "html": DEMO_HTML,
            "text": "{{ lead.last_name }} {{ lead.first_name }} 様\n\nMA導入前に確認したい6つの条件をまとめました。\n"
            "https://www.example.com/whitepaper/\n",
        },
    )
    campaign, _ = Campaign.objects.get_or_create(
        name="2026年11月 ホワイトペーパー配信",
        defaults={
            "content_type": Campaign.ContentType.WHITEPAPER,
            "template": template,
            "status": Campaign.Status.SENT,
        },
    )
    return campaign


DEMO_HTML = """<html><head><style>
p { font-size: 15px; line-height: 1.7 }
.cta { color: #fff; background: #0b63ce; padding: 10px 18px }
</style></head>
<body><p>{{ lead.last_name }} {{ lead.first_name }} 様</p>
<p>{{ lead.company_name | fallback("貴社") }}でのMA導入前に確認したい6つの条件をまとめました。</p>
<p><a class="cta" href="https://www.example.com/whitepaper/">資料をダウンロード</a></p></body></html>"""


def _form_and_page() -> Form:
    fields = [
        {"key": "last_name", "type": "text", "label": "姓", "required": True, "maps_to": "last_name"},
        {"key": "first_name", "type": "text", "label": "名", "required": True, "maps_to": "first_name"},
        {"key": "email", "type": "email", "label": "メールアドレス", "required": True, "maps_to": "email"},
        {"key": "company", "type": "text", "label": "会社名", "required": True, "maps_to": "company_name"},
        {"key": "consent", "type": "consent", "label": "メール配信に同意します", "required": True,
         "wording": "株式会社デモからのお知らせメールの受信に同意します。"},
    ]  # fmt: skip
    form, _ = Form.objects.get_or_create(
        slug="whitepaper",
        defaults={
            "name": "資料ダウンロード",
            "fields": fields,
            "success_message": "ありがとうございました。",
            "published": True,
        },
    )
    blocks = [
        {"type": "hero", "title": "MA導入チェックリスト", "text": "導入前に確認したい6つの条件"},
        {"type": "form", "form": form.slug},
    ]
    LandingPage.objects.get_or_create(
        slug="checklist",
        defaults={
            "title": "MA導入チェックリスト",
            "draft_blocks": blocks,
            "blocks": blocks,
            "published_at": timezone.now(),
        },
    )
    return form


def _leads(rng: random.Random, count: int, *, owner) -> list[Lead]:
    companies = [_company(name, domain) for name, domain in COMPANIES]
    wanted = {}
    for n in range(1, count + 1):
        company = companies[n % len(companies)]
        email = f"demo{n:04d}@{company.domain}"
        wanted[normalize.email_key(email)] = Lead(
            email=email,
            email_key=normalize.email_key(email),
            last_name=rng.choice(LAST_NAMES),
            first_name=rng.choice(FIRST_NAMES),
            company=company,
            company_name=company.name,
            title=rng.choice(TITLES),
            source=rng.choice(["form", "import", "seminar", "business_card"]),
            owner=owner if n % 5 == 0 else None,
        )
    existing = set(Lead.objects.filter(email_key__in=wanted).values_list("email_key", flat=True))
    return Lead.objects.bulk_create([lead for key, lead in wanted.items() if key not in existing])


def _company(name: str, domain: str) -> Company:
    company, _ = Company.objects.get_or_create(
        name_key=normalize.company_key(name), domain=domain, defaults={"name": name}
    )
    return company


def _activities(rng: random.Random, leads: list[Lead], *, campaign: Campaign, form: Form) -> int:
    now = timezone.now()
    kinds = [Activity.Kind.PAGE_VIEW] * 6 + [Activity.Kind.EMAIL_OPENED] * 3
    kinds += [Activity.Kind.EMAIL_CLICKED, Activity.Kind.FORM_SUBMIT]
    rows = []
    for lead in leads:
        mine = [
            _activity(rng, lead, rng.choice(kinds), now=now, campaign=campaign, form=form)
            for _ in range(rng.randint(1, 12))
        ]
        rows.extend(mine)
        lead.last_activity_at = max(a.occurred_at for a in mine)
    Activity.objects.bulk_create(rows, batch_size=1000)
    Lead.objects.bulk_update(leads, ["last_activity_at"], batch_size=500)
    return len(rows)


def _mark_hot_leads(*, owners: list) -> None:
    """Demo leads over the threshold start as MQLs, without sending an alert for each.

    Most go to the sales user, every third to the admin and every fifth stays
    unassigned, so the workspace's "mine" and "unassigned" filters show something.
    """
    hot = Lead.objects.filter(mql_at__isnull=True, score__gte=ScoringSettings.load().hot_threshold)
    ids = list(hot.order_by("pk").values_list("pk", flat=True))
    hot.update(stage=Lead.Stage.MQL, mql_at=timezone.now())
    Lead.objects.filter(pk__in=ids, owner__isnull=True).update(owner=owners[0])
    Lead.objects.filter(pk__in=ids[2::3]).update(owner=owners[1])
    Lead.objects.filter(pk__in=ids[4::5]).update(owner=None)


def _activity(rng: random.Random, lead: Lead, kind: str, *, now, campaign: Campaign, form: Form) -> Activity:
    activity = Activity(
        lead=lead, kind=kind, occurred_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 60)), processed_at=now
    )
    if kind == Activity.Kind.PAGE_VIEW:
        activity.url = "https://www.example.com" + rng.choice(PAGES)
    elif kind == Activity.Kind.FORM_SUBMIT:
        activity.form_id = form.pk
    else:
        activity.campaign_id = campaign.pk
    return activity


def _opportunity(*, owner) -> None:
    """The hottest lead, converted by the sales user: one opportunity to open in the workspace."""
    if Opportunity.objects.exists():
        return
    lead = Lead.objects.filter(stage=Lead.Stage.MQL, owner=owner).order_by("-score", "pk").first()
    if lead is None:
        return
    terms = Terms(name=f"{lead.company_name} MA導入", amount=Decimal("3600000"),
                  expected_close=timezone.localdate() + timedelta(days=45))  # fmt: skip
    convert(lead=lead, terms=terms, user=owner)
