"""Automation: step sequences (ステップメール), trigger emails (トリガーメール) and staff actions.

Imported at the bottom of campaigns/models.py so the models belong to the
campaigns app. Steps are referenced by id from enrollments, and walked by their
`order`, so editing a sequence never moves a lead already enrolled; a step that
enrolled leads wait on cannot be deleted (PROTECT) until they are moved on.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import EmailTemplate
from leads.models import Lead, LeadList, Segment, Tag

__all__ = ["Action", "Enrollment", "Entry", "Sequence", "Step", "Trigger", "TriggerFire"]


class Entry(models.TextChoices):
    FORM_SUBMIT = "form_submit", _("Form submitted")
    DOWNLOAD = "download", _("Asset downloaded")
    LIST_JOINED = "list_joined", _("Joined a list")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    SCORE_REACHED = "score_reached", _("Score reached a value")
    STAGE_CHANGED = "stage_changed", _("Stage changed")
    MANUAL = "manual", _("Manual or API only")


class Sequence(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused (due steps wait)")

    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PAUSED)
    entry = models.CharField(_("entry trigger"), max_length=20, choices=Entry.choices, default=Entry.MANUAL)
    entry_form_id = models.BigIntegerField(_("entry form id"), null=True, blank=True, help_text=_("Empty: any form"))
    entry_url = models.CharField(
        _("entry URL contains"), max_length=500, blank=True, help_text=_("Downloads: part of the asset URL")
    )
    entry_list = models.ForeignKey(
        LeadList, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("entry list")
    )
    entry_segment = models.ForeignKey(
        Segment, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("entry segment")
    )
    entry_score = models.IntegerField(_("entry score"), null=True, blank=True)
    entry_stage = models.CharField(_("entry stage"), max_length=20, choices=Lead.Stage.choices, blank=True)
    reentry = models.BooleanField(_("allow re-entry"), default=False, help_text=_("Enroll again after finishing"))
    goal_form_id = models.BigIntegerField(
        _("goal form id"), null=True, blank=True, help_text=_("Submitting this form ends the sequence")
    )
    exit_segment = models.ForeignKey(
        Segment, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("exit segment")
    )
    entry_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("step sequence")
        verbose_name_plural = _("step sequences")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        needs = {Entry.LIST_JOINED: "entry_list", Entry.SEGMENT_ENTERED: "entry_segment",
                 Entry.SCORE_REACHED: "entry_score", Entry.STAGE_CHANGED: "entry_stage"}  # fmt: skip
        field = needs.get(self.entry)
        if field and getattr(self, field) in (None, ""):
            raise ValidationError({field: _("This entry trigger needs a value here.")})


class Step(models.Model):
    class Unit(models.TextChoices):
        MINUTES = "minutes", _("minutes")
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")

    class Condition(models.TextChoices):
        ALWAYS = "", _("Always")
        OPENED = "opened", _("Only if the previous email was opened")
        CLICKED = "clicked", _("Only if the previous email was clicked")

    sequence = models.ForeignKey(Sequence, models.CASCADE, related_name="steps", verbose_name=_("sequence"))
    order = models.PositiveIntegerField(_("order"), default=0)
    template = models.ForeignKey(
        EmailTemplate, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("template")
    )
    delay = models.IntegerField(_("delay"), default=0, help_text=_("After the previous step (or the entry)"))
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.DAYS)
    weekdays = models.CharField(
        _("send on weekdays"), max_length=7, blank=True, help_text=_("Digits, Monday=0 … Sunday=6; empty: every day")
    )
    window_start = models.TimeField(_("send window from"), null=True, blank=True)
    window_end = models.TimeField(_("send window until"), null=True, blank=True)
    condition = models.CharField(_("branch"), max_length=10, choices=Condition.choices, blank=True, default="")
    otherwise = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("otherwise go to"),
        help_text=_("When the branch condition is not met; empty: the next step"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["sequence", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.order}"

    @property
    def wait(self) -> timedelta:
        return timedelta(**{self.unit: self.delay})

    def clean(self) -> None:
        from campaigns.sequences import step_problems

        if problems := step_problems(step=self):
            raise ValidationError(problems)


class Enrollment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Exited")
        SKIPPED = "skipped", _("Skipped (not mailable)")

    sequence = models.ForeignKey(Sequence, models.CASCADE, related_name="enrollments", verbose_name=_("sequence"))
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="enrollments", verbose_name=_("lead"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    step = models.ForeignKey(
        Step, models.PROTECT, null=True, blank=True, related_name="waiting", verbose_name=_("next step")
    )
    next_due_at = models.DateTimeField(_("next send time"), null=True, blank=True)
    last_step_at = models.DateTimeField(_("previous step sent"), null=True, blank=True)
    source = models.CharField(_("entered by"), max_length=30, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    entered_at = models.DateTimeField(_("entered"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-entered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "lead"], condition=models.Q(status="active"), name="enrollment_once_active"
            )
        ]
        indexes = [
            models.Index(fields=["next_due_at"], name="enrollment_due", condition=models.Q(status="active")),
            models.Index(fields=["lead", "-entered_at"], name="enrollment_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.lead} → {self.sequence}"


class Action(models.TextChoices):
    SEND_EMAIL = "send_email", _("Send an email")
    NOTIFY_OWNER = "notify_owner", _("Notify the owner")
    ADD_TAG = "add_tag", _("Add a tag")
    CHANGE_STAGE = "change_stage", _("Change the stage")
    WEBHOOK = "webhook", _("Call a webhook")


class Trigger(models.Model):
    """An activity (with filters) → an email or a staff action, at most once per lead per N days."""

    KINDS = ["page_view", "form_submit", "download", "email_opened", "email_clicked", "custom", "stage_changed"]

    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("activity"), max_length=30, choices=[(k, k) for k in KINDS], default="page_view")
    url_contains = models.CharField(_("URL contains"), max_length=500, blank=True)
    form_id = models.BigIntegerField(_("form id"), null=True, blank=True)
    min_count = models.PositiveIntegerField(
        _("times"), default=1, help_text=_("Fire when the activity happened this many times within the period")
    )
    count_days = models.PositiveIntegerField(_("within days"), default=7)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, default=Action.SEND_EMAIL)
    template = models.ForeignKey(
        EmailTemplate, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("template")
    )
    tag = models.ForeignKey(Tag, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("tag"))
    stage = models.CharField(_("stage"), max_length=20, choices=Lead.Stage.choices, blank=True)
    webhook_url = models.URLField(_("webhook URL"), blank=True)
    delay_minutes = models.IntegerField(_("delay (minutes)"), default=0)
    once_per_days = models.PositiveIntegerField(_("at most once per lead per days"), default=1)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from campaigns.triggers import trigger_problems

        if problems := trigger_problems(trigger=self):
            raise ValidationError(problems)


class TriggerFire(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped (not mailable)")

    trigger = models.ForeignKey(Trigger, models.CASCADE, related_name="fires", verbose_name=_("trigger"))
    lead = models.ForeignKey(Lead, models.CASCADE, related_name="trigger_fires", verbose_name=_("lead"))
    activity_id = models.BigIntegerField(_("activity id"), null=True, blank=True)
    fired_at = models.DateTimeField(_("fired"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("trigger fire")
        verbose_name_plural = _("trigger fires")
        ordering = ["-fired_at"]
        indexes = [
            models.Index(fields=["due_at"], name="triggerfire_due", condition=models.Q(status="pending")),
            models.Index(fields=["trigger", "lead", "-fired_at"], name="triggerfire_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.trigger} → {self.lead}"
