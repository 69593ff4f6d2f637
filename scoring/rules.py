"""Evaluating behaviour rules against one event: pure functions, tested without the database.

Regular expressions use RE2, whose matching time is linear in the input, so a
pathological pattern written by a marketer cannot hang a worker.
"""

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import re2
from django.conf import settings
from django.utils.translation import gettext as _

from leads.models import Activity
from scoring.models import CAMPAIGN_EVENTS, URL_EVENTS, ScoringRule

MAX_PATTERN = 500


@lru_cache(maxsize=256)
def compile_pattern(pattern: str):
    """The compiled RE2 pattern; raises re2.error for syntax RE2 does not accept (e.g. backreferences)."""
    options = re2.Options()
    options.max_mem = 8 << 20  # bounds the automaton a hostile pattern can build
    options.log_errors = False
    return re2.compile(pattern, options)


def url_matches(match: str, pattern: str, url: str) -> bool:
    """Whether a URL satisfies a rule's URL condition; an empty pattern matches all."""
    if not pattern:
        return True
    if match == ScoringRule.UrlMatch.PREFIX:
        return url.startswith(pattern) or _path(url).startswith(pattern)
    if match == ScoringRule.UrlMatch.REGEX:
        try:
            return compile_pattern(pattern).search(url) is not None
        except re2.error:
            return False
    return pattern in url


def _path(url: str) -> str:
    """ "/pricing/" of "https://www.example.com/pricing/", so prefix rules can be written as paths."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"


def rule_matches(rule: ScoringRule, activity: Activity) -> bool:
    if not rule.active or rule.event_kind != activity.kind:
        return False
    if rule.form_id and activity.form_id != rule.form_id:
        return False
    if rule.campaign_id and activity.campaign_id != rule.campaign_id:
        return False
    if rule.event_name and (activity.data or {}).get("name") != rule.event_name:
        return False
    return url_matches(rule.url_match, rule.url_pattern, activity.url)


def is_machine(data) -> bool:
    """A machine open or a link scanner (data.machine set): not behaviour, never scored."""
    return isinstance(data, dict) and bool(data.get("machine"))


def window(rule: ScoringRule, activity: Activity) -> str:
    """The frequency window an event falls in for a rule; one ledger row per (lead, rule, window)."""
    if rule.frequency == ScoringRule.Frequency.ONCE:
        return "once"
    if rule.frequency == ScoringRule.Frequency.DAILY:
        return local_date(activity.occurred_at)
    return f"a{activity.pk}"


def local_date(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date().isoformat()


def rule_problems(rule: ScoringRule) -> dict[str, str]:
    """Why a rule cannot be saved, by field; empty when it is fine."""
    problems = {}
    if rule.url_pattern and rule.event_kind not in URL_EVENTS:
        problems["url_pattern"] = _("Only page views, downloads and email clicks have a URL.")
    if rule.url_match == ScoringRule.UrlMatch.REGEX and rule.url_pattern:
        problems.update(_pattern_problem(rule.url_pattern))
    if rule.form_id and rule.event_kind != Activity.Kind.FORM_SUBMIT:
        problems["form_id"] = _("A form can only be chosen for the form-submitted event.")
    if rule.campaign_id and rule.event_kind not in CAMPAIGN_EVENTS:
        problems["campaign_id"] = _("A campaign can only be chosen for email events.")
    if rule.event_name and rule.event_kind != Activity.Kind.CUSTOM:
        problems["event_name"] = _("An event name can only be given for custom events.")
    if rule.points == 0:
        problems["points"] = _("A rule must give or take at least one point.")
    return problems


def _pattern_problem(pattern: str) -> dict[str, str]:
    if len(pattern) > MAX_PATTERN:
        return {"url_pattern": _("The pattern is longer than %(max)d characters.") % {"max": MAX_PATTERN}}
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return {"url_pattern": _("This is not a valid regular expression: %(error)s") % {"error": reason}}
    return {}
