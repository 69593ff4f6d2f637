"""Receiving one form submission: abuse checks, per-field validation, then one INSERT.

The request keeps the raw Submission and nothing else, so it is answered in a
few milliseconds under load. A worker then upserts the lead (consent only when
the box was ticked, and with double opt-in only on confirmation), records the
form_submit activity (scored by the stream's consumers), joins the visitor's
anonymous history to the lead (landing/ingesting.py) and sends the follow-up
emails. A broker failure is logged and the periodic sweeper does all of it
later, so the visitor never sees an error because Redis is down.
"""

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils.translation import gettext as _

from landing.definitions import max_length
from landing.models import Form, Submission
from leads import tracking
from leads.models import CustomField
from leads.validation import CUSTOM_PREFIX, clean_email, clean_lead_values, clean_text
from mautomation.lib import ratelimit
from mautomation.lib.enqueue import try_enqueue

log = logging.getLogger(__name__)

TOKEN_FIELD, HONEYPOT = "_token", "website"
VISITOR_FIELD, PAGE_FIELD, REFERRER_FIELD = "_vid", "_page", "_ref"
TOKEN_SALT = "landing.form-token"
TOKEN_MAX_AGE = 24 * 3600  # a tab left open overnight still submits (after one re-render)
BODY_MAX = 64 * 1024
EXTRA_KEYS = 12  # token, honeypot, CSRF, visitor meta: beyond the form's own fields
TICKED = frozenset({"on", "1", "true", "yes"})
ALL = "__all__"  # the key of errors about the whole form
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Meta:
    """What the request says about the visit, apart from the fields."""

    client_ip: str = ""
    visitor_id: str = ""
    page_url: str = ""
    referrer: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    embedded: bool = False
    body_size: int = 0


@dataclass
class Result:
    """status is what the visitor gets: 200 accepted (spam is answered 200 too, and dropped), else 400/403/413/429."""

    status: int
    values: dict[str, object]
    errors: dict[str, list[str]] = field(default_factory=dict)
    submission: Submission | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


# --- The signed form token: minimum fill time, and the nonce of embedded posts ------------------


def issue_token(form: Form) -> str:
    return signing.dumps({"f": form.pk, "t": time.time()}, salt=TOKEN_SALT, compress=False)


def token_problem(form: Form, token: str) -> tuple[int, str] | None:
    """(status, reason) when the token is forged, for another form, expired or too fresh; None when fine."""
    try:
        payload = signing.loads(token or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        return 400, _("This form was open too long. Please check your entries and submit again.")
    except signing.BadSignature:
        return 403, _("This form could not be verified. Please reload the page and try again.")
    if not isinstance(payload, dict) or payload.get("f") != form.pk or not isinstance(payload.get("t"), float):
        return 403, _("This form could not be verified. Please reload the page and try again.")
    if time.time() - payload["t"] > TOKEN_MAX_AGE:
        return 400, _("This form was open too long. Please check your entries and submit again.")
    if time.time() - payload["t"] < form.min_fill_seconds:
        return 400, _("The form was submitted too quickly. Please check your entries and submit again.")
    return None


# --- Abuse checks --------------------------------------------------------------------------------


def limits() -> tuple[int, int]:
    """Submissions per minute allowed per client address and form, and per form."""
    return (
        getattr(settings, "FORM_RATE_LIMIT_PER_MINUTE", 10),
        getattr(settings, "FORM_RATE_LIMIT_PER_FORM_PER_MINUTE", 600),
    )


def over_limit(form: Form, client_ip: str) -> bool:
    """Count this attempt for its client network and its form; True when either is over its limit."""
    per_ip, per_form = limits()
    ip_count, form_count = ratelimit.hit_all([f"f:{form.pk}:ip:{tracking.ip_bucket(client_ip)}", f"f:{form.pk}:all"])
    return ip_count > per_ip or form_count > per_form


def refusal(form: Form, data: Mapping, meta: Meta) -> tuple[int, str] | None:
    """Why the request as a whole is refused before any field is read, with its status."""
    if meta.body_size > BODY_MAX:
        return 413, _("The submission is larger than %(max)d KB.") % {"max": BODY_MAX // 1024}
    if len(data) > len(form.fields) + EXTRA_KEYS:
        return 400, _("The submission has too many fields.")
    if over_limit(form, meta.client_ip):
        return 429, _("Too many submissions from your network. Please wait a minute and try again.")
    return token_problem(form, _first(data, TOKEN_FIELD))


# --- Reading and checking the fields -----------------------------------------------------------


def _all(data: Mapping, key: str) -> list[str]:
    if hasattr(data, "getlist"):
        items = data.getlist(key)
    else:
        raw = data.get(key)
        items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    return [str(item) for item in items]


def _first(data: Mapping, key: str) -> str:
    items = _all(data, key)
    return items[-1] if items else ""


def clean_fields(fields: list[dict], data: Mapping, meta: Meta) -> tuple[dict, dict[str, list[str]]]:
    """Each field's value (text, a list for checkboxes, a bool for consent) and its problems by key."""
    values, errors = {}, {}
    for spec in fields:
        values[spec["key"]], reason = clean_field(spec, _all(data, spec["key"]), meta)
        if reason:
            errors[spec["key"]] = [reason]
    return values, errors


def clean_field(spec: dict, raw: list[str], meta: Meta) -> tuple[object, str | None]:
    kind = spec["type"]
    if kind == "hidden":
        return _hidden_value(spec, meta), None
    if kind == "consent":
        ticked = bool(raw) and raw[-1].strip().lower() in TICKED
        return ticked, _("must be ticked to continue") if spec.get("required") and not ticked else None
    if kind == "checkboxes":
        return _clean_choices(spec, [item.strip() for item in raw if item.strip()])
    value = raw[-1].strip() if raw else ""
    if not value:
        return "", _("is required") if spec.get("required") else None
    return value, _text_problem(spec, value)


def _text_problem(spec: dict, value: str) -> str | None:
    if _UNSTORABLE.search(value):
        return _("contains control characters")
    if len(value) > max_length(spec):
        return _("is too long (%(length)d characters, at most %(max)d)") % {
            "length": len(value),
            "max": max_length(spec),
        }
    if spec["type"] == "email":
        return clean_email(value)[1]
    if spec["type"] == "tel":
        return clean_text("phone", value)[1]
    if spec["type"] in ("select", "radio") and value not in spec.get("options", []):
        return _("is not one of the choices")
    return None


def _clean_choices(spec: dict, chosen: list[str]) -> tuple[list[str], str | None]:
    if not chosen:
        return [], _("is required") if spec.get("required") else None
    if any(choice not in spec.get("options", []) for choice in chosen) or len(chosen) > len(spec["options"]):
        return chosen, _("is not one of the choices")
    return sorted(set(chosen), key=spec["options"].index), None


def _hidden_value(spec: dict, meta: Meta) -> str:
    """A hidden field's value is decided here, never taken from the post: a fixed text or a visit token."""
    default = spec.get("default", "")
    if default == "referrer":
        return meta.referrer[: max_length(spec)]
    if default in tracking.UTM_KEYS:
        return meta.utm.get(default, "")[: max_length(spec)]
    return default


def lead_values(fields: list[dict], values: dict) -> tuple[dict, dict[str, list[str]]]:
    """The lead's values through leads.validation, with its problems under the form field's key."""
    mapped = {spec["maps_to"]: spec["key"] for spec in fields if spec.get("maps_to")}
    raw = {target: _as_text(values[key]) for target, key in mapped.items()}
    wanted = [target.removeprefix(CUSTOM_PREFIX) for target in mapped if target.startswith(CUSTOM_PREFIX)]
    custom = {cf.key: cf for cf in CustomField.objects.filter(key__in=wanted)} if wanted else {}
    cleaned, problems = clean_lead_values(raw, custom_fields=custom)
    return cleaned, {mapped.get(target, target): [reason] for target, reason in problems}


def _as_text(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def consent_wording(fields: list[dict], values: dict) -> str:
    """The wording of the ticked consent box; empty when no box was ticked."""
    return next((spec.get("wording", "") for spec in fields if spec["type"] == "consent" and values[spec["key"]]), "")


# --- The whole submission ------------------------------------------------------------------------


def submit(*, form: Form, data: Mapping, meta: Meta) -> Result:
    """Check and store one submission; the Result says what to answer the visitor."""
    posted = {spec["key"]: _first(data, spec["key"]) for spec in form.fields if spec["type"] != "checkboxes"}
    if refused := refusal(form, data, meta):
        return Result(refused[0], posted, {ALL: [refused[1]]})
    if _first(data, HONEYPOT).strip():  # a bot filled the invisible field: it is told "thanks" and dropped
        log.info("form %s: honeypot filled; submission dropped", form.slug)
        return Result(200, posted)
    values, errors = clean_fields(form.fields, data, meta)
    lead_errors = lead_values(form.fields, values)[1] if not errors else {}
    if errors or lead_errors:
        return Result(400, values, {**lead_errors, **errors})
    submission = store(form=form, values=values, meta=meta)
    return Result(200, values, submission=submission)


def store(*, form: Form, values: dict, meta: Meta) -> Submission:
    """Keep the raw submission: one INSERT. Its lead, consent and activity are made on a worker (ingesting.py)."""
    from landing import ingesting

    submission = Submission(
        form=form, data=values, visitor_id=meta.visitor_id, utm=meta.utm, referrer=meta.referrer,
        page_url=meta.page_url, embedded=meta.embedded, consent_wording=consent_wording(form.fields, values),
    )  # fmt: skip
    submission.pk = _insert(submission)
    transaction.on_commit(ingesting.wake)
    return submission


def _insert(submission: Submission) -> int:
    """The row in one plain INSERT: the ORM's compile of it costs more than the statement itself."""
    jsonb = "::jsonb" if connection.vendor == "postgresql" else ""
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Submission._meta.db_table)} (form_id, data, visitor_id, utm, "
        "referrer, page_url, embedded, consent_wording, created_at) "
        f"VALUES (%s, %s{jsonb}, %s, %s{jsonb}, %s, %s, %s, %s, %s) RETURNING id"
    )
    s = submission
    params = [s.form_id, json.dumps(s.data), s.visitor_id, json.dumps(s.utm), s.referrer, s.page_url, s.embedded,
              s.consent_wording, connection.ops.adapt_datetimefield_value(s.created_at)]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def enqueue_followups(submission_id: int) -> None:
    """Hand the follow-up emails to a worker; if the broker is down the sweeper sends them."""
    from landing.tasks import send_followups

    try_enqueue(send_followups, (submission_id,), what=f"follow-ups of submission {submission_id}")
