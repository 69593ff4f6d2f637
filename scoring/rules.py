"""Evaluating scoring rules: pure functions, tested without the database."""

import re

from scoring.models import ScoringRule


def url_matches(match: str, pattern: str, url: str) -> bool:
    """Whether a page URL satisfies a rule's URL condition; an empty pattern matches all."""
    if not pattern:
        return True
    if match == ScoringRule.UrlMatch.PREFIX:
        return url.startswith(pattern)
    if match == ScoringRule.UrlMatch.REGEX:
        try:
            return re.search(pattern, url) is not None
        except re.error:
            return False
    return pattern in url


def points_for(rules: list[ScoringRule], *, kind: str, url: str = "") -> int:
    """Sum of the points of the active rules that an event of this kind and URL triggers."""
    return sum(
        rule.points
        for rule in rules
        if rule.active and rule.event_kind == kind and url_matches(rule.url_match, rule.url_pattern, url)
    )
