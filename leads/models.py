"""The spine: leads, companies and the activity stream every other app reads.

This app imports no other app of the project; consumers of activities register
themselves with the stream (issue 3 adds the registry and the outbox sweeper).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mautomation.lib import normalize

KEY_OPS = "varchar_pattern_ops"  # PostgreSQL: an index that compares bytes, for keys matched only by equality


class Company(models.Model):
    name = models.CharField(_("company name"), max_length=255)
    name_key = models.CharField(max_length=255, editable=False, db_index=True)
    domain = models.CharField(_("email domain"), max_length=255, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [models.UniqueConstraint(fields=["name_key", "domain"], name="company_unique_name_domain")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = normalize.company_key(self.name)
        super().save(*args, **kwargs)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomField(models.Model):
    """A lead attribute defined by marketers; values live in Lead.custom under `key`."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class Lead(models.Model):
    class Stage(models.TextChoices):
        SUBSCRIBER = "subscriber", _("Subscriber")
        LEAD = "lead", _("Lead")
        MQL = "mql", _("MQL (hot lead)")
        SQL = "sql", _("SQL")
        OPPORTUNITY = "opportunity", _("Opportunity")
        CUSTOMER = "customer", _("Customer")

    class EmailStatus(models.TextChoices):
        OK = "ok", _("OK")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")

    email = models.CharField(_("email"), max_length=254)
    email_key = models.CharField(max_length=254, editable=False)  # unique: see Meta
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name_kana = models.CharField(_("last name furigana"), max_length=100, blank=True)
    first_name_kana = models.CharField(_("first name furigana"), max_length=100, blank=True)
    company = models.ForeignKey(
        Company, models.SET_NULL, null=True, blank=True, related_name="leads", verbose_name=_("company")
    )
    company_name = models.CharField(_("company name"), max_length=255, blank=True)
    department = models.CharField(_("department"), max_length=255, blank=True)
    title = models.CharField(_("job title"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    phone_key = models.CharField(max_length=50, blank=True, editable=False)  # indexed: see Meta
    source = models.CharField(_("source"), max_length=100, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=20, choices=Stage.choices, default=Stage.LEAD)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
        verbose_name=_("owner"),
        db_index=False,  # indexed in Meta, owned leads only
    )
    email_status = models.CharField(
        _("email status"), max_length=20, choices=EmailStatus.choices, default=EmailStatus.OK
    )
    consent = models.BooleanField(_("consent to email"), default=False)
    score = models.IntegerField(
        _("score"), default=0, db_index=True, help_text=_("Behaviour score: the sum of its ledger")
    )
    fit_score = models.IntegerField(_("fit score"), default=0, help_text=_("Fit with the ideal customer profile"))
    mql_at = models.DateTimeField(_("became a hot lead"), null=True, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads", verbose_name=_("tags"))
    first_touch = models.JSONField(
        _("first touch"), default=dict, blank=True, help_text=_("UTM and referrer of the first visit")
    )
    last_touch = models.JSONField(
        _("last touch"), default=dict, blank=True, help_text=_("UTM and referrer of the latest visit")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        # The keys' unique constraint and index are declared here rather than with unique=True and
        # db_index=True, which on PostgreSQL add a second, varchar_pattern_ops index for LIKE 'x%'.
        # Nothing searches the keys by prefix, and each index costs every insert (a quarter of an import's).
        # Keys are only compared for equality, so their indexes compare bytes (the pattern_ops operator
        # class) instead of collating: a quarter cheaper per insert. Other databases ignore opclasses.
        constraints = [models.UniqueConstraint(fields=["email_key"], name="lead_email_key_unique", opclasses=[KEY_OPS])]
        indexes = [
            models.Index(fields=["phone_key"], name="lead_phone_key", opclasses=[KEY_OPS]),
            # Most leads have no owner yet (every import and form leaves it empty): only owned ones are indexed.
            models.Index(fields=["owner"], name="lead_owner", condition=models.Q(owner__isnull=False)),
            models.Index(fields=["stage", "-score"], name="lead_stage_score"),
            models.Index(fields=["-updated_at", "-id"], name="lead_updated"),  # API sync: updated_since
            # The KPI page's MQLs per month: hot leads are a small share, so only they are indexed.
            models.Index(fields=["mql_at"], name="lead_mql_at", condition=models.Q(mql_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def save(self, *args, **kwargs) -> None:
        self.email_key = normalize.email_key(self.email)
        self.phone_key = normalize.phone_key(self.phone)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()

    @property
    def mail_address(self) -> str:
        """Where mail goes: the address as entered, folded to half-width (SMTP takes no full-width ＠)."""
        return normalize.fold(self.email)

    def webhook_payload(self) -> dict:
        """The lead as outbound webhooks (CRM sync, automation) send it."""
        return {
            "id": self.pk,
            "email": self.email,
            "last_name": self.last_name,
            "first_name": self.first_name,
            "company_name": self.company_name,
            "title": self.title,
            "phone": self.phone,
            "stage": self.stage,
            "score": self.score,
            "fit_score": self.fit_score,
            "owner": self.owner.get_username() if self.owner else None,
            "mql_at": self.mql_at.isoformat() if self.mql_at else None,
        }

    @property
    def mailable(self) -> bool:
        """特定電子メール法: consented, and not unsubscribed, bounced or complained."""
        return self.consent and self.email_status == self.EmailStatus.OK


class Consent(models.Model):
    """How and when a lead agreed to receive email; a revocation is kept, not deleted."""

    class Method(models.TextChoices):
        FORM = "form", _("Form (with its wording)")
        BUSINESS_CARD = "business_card", _("Business card exchange")
        RELATIONSHIP = "relationship", _("Existing business relationship")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        ADMIN = "admin", _("Entered by staff")

    lead = models.ForeignKey(Lead, models.CASCADE, related_name="consents", verbose_name=_("lead"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    wording = models.TextField(_("wording shown"), blank=True)
    source = models.CharField(_("source"), max_length=255, blank=True)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(_("revocation reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.granted_at:%Y-%m-%d}"


class VisitorLink(models.Model):
    """An anonymous first-party visitor id, once it is known to belong to a lead."""

    visitor_id = models.CharField(_("visitor id"), max_length=64, unique=True)
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="visitor_links", verbose_name=_("lead"))
    identified_at = models.DateTimeField(_("identified"), default=timezone.now)

    class Meta:
        verbose_name = _("identified visitor")
        verbose_name_plural = _("identified visitors")

    def __str__(self) -> str:
        return self.visitor_id


class MergeRecord(models.Model):
    """Who merged which duplicate into which lead, with the duplicate's data as it was."""

    winner = models.ForeignKey(Lead, models.CASCADE, related_name="merges", verbose_name=_("kept lead"))
    loser_email = models.CharField(_("merged email"), max_length=254)
    loser_data = models.JSONField(_("merged lead's data"), default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, verbose_name=_("merged by"))
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)

    class Meta:
        verbose_name = _("merge record")
        verbose_name_plural = _("merge records")

    def __str__(self) -> str:
        return f"{self.loser_email} → {self.winner.email}"


class ColumnMapping(models.Model):
    """A CSV header and the lead field it fills; extends the built-in Japanese/English headers."""

    header = models.CharField(_("CSV header"), max_length=100, unique=True)
    field = models.CharField(_("lead field"), max_length=100, help_text=_("A lead field name, or custom:KEY"))

    class Meta:
        verbose_name = _("CSV column mapping")
        verbose_name_plural = _("CSV column mappings")

    def __str__(self) -> str:
        return f"{self.header} → {self.field}"


class ImportJob(models.Model):
    """One CSV import; counters are checkpoints, so an interrupted job resumes where it stopped."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(_("message"), blank=True)
    consent_method = models.CharField(_("consent of new leads"), max_length=20, blank=True, default="import")
    source = models.CharField(_("source of new leads"), max_length=100, blank=True)
    lead_list = models.ForeignKey(
        "LeadList", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("add the leads to list")
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, verbose_name=_("by")
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.original_name


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    field = models.CharField(_("field"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=500)

    class Meta:
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        ordering = ["row"]
        constraints = [models.UniqueConstraint(fields=["job", "row", "field"], name="import_error_once_per_cell")]

    def __str__(self) -> str:
        return f"row {self.row} {self.field}: {self.reason}"


class Activity(models.Model):
    """One row per thing a person did or that happened to them; append-only."""

    class Kind(models.TextChoices):
        PAGE_VIEW = "page_view", _("Page view")
        FORM_SUBMIT = "form_submit", _("Form submitted")
        DOWNLOAD = "download", _("Download")
        EMAIL_SENT = "email_sent", _("Email sent")
        EMAIL_DELIVERED = "email_delivered", _("Email delivered")
        EMAIL_OPENED = "email_opened", _("Email opened")
        EMAIL_CLICKED = "email_clicked", _("Email clicked")
        EMAIL_BOUNCED = "email_bounced", _("Email bounced")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        CUSTOM = "custom", _("Custom event")
        SCORE_CHANGED = "score_changed", _("Score changed")
        STAGE_CHANGED = "stage_changed", _("Stage changed")

    # Things that happen to a lead rather than things it does: they do not make it "active".
    SYSTEM_KINDS = frozenset({"email_sent", "email_delivered", "email_bounced", "score_changed", "stage_changed"})

    lead = models.ForeignKey(
        Lead, models.CASCADE, null=True, blank=True, related_name="activities", verbose_name=_("lead")
    )
    visitor_id = models.CharField(_("visitor id"), max_length=64, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    url = models.CharField(_("URL"), max_length=2000, blank=True)
    campaign_id = models.BigIntegerField(_("campaign id"), null=True, blank=True)
    form_id = models.BigIntegerField(_("form id"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    dedup_key = models.CharField(_("dedup key"), max_length=200, null=True, blank=True, unique=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_timeline"),
            models.Index(fields=["campaign_id", "kind", "lead"], name="activity_campaign_counts"),
            # Segments' "visited / submitted / opened in the last N days": halves a 1M-lead count (bench_segments).
            models.Index(fields=["kind", "occurred_at"], name="activity_kind_time"),
            # The sweeper's queue: only rows with a lead are ever processed.
            models.Index(
                fields=["occurred_at"],
                name="activity_unprocessed",
                condition=models.Q(processed_at__isnull=True, lead__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class LeadList(models.Model):
    """A static list (members added by hand, import or API) or a suppression list (never mailed)."""

    class Kind(models.TextChoices):
        STATIC = "static", _("Static list")
        SUPPRESSION = "suppression", _("Suppression list")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.STATIC)
    members = models.ManyToManyField(Lead, through="ListMembership", related_name="lists", verbose_name=_("members"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    """One lead on one list; added_at lets automation see who joined since it last looked."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        AUTOMATION = "automation", _("Automation")

    lead_list = models.ForeignKey(LeadList, models.CASCADE, related_name="memberships", verbose_name=_("list"))
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="list_memberships", verbose_name=_("lead"))
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, verbose_name=_("added by")
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.ADMIN)

    class Meta:
        verbose_name = _("list member")
        verbose_name_plural = _("list members")
        constraints = [models.UniqueConstraint(fields=["lead_list", "lead"], name="list_member_once")]

    def __str__(self) -> str:
        return f"{self.lead_list} ← {self.lead}"


class Segment(models.Model):
    """A dynamic list: the leads matching its conditions now (leads/conditions.py), never stored."""

    class Match(models.TextChoices):
        ALL = "all", _("All conditions (AND)")
        ANY = "any", _("Any condition (OR)")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def definition(self) -> dict:
        return {"match": self.match, "conditions": self.conditions}
