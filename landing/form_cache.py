"""Published forms kept in each process for a moment, so a burst of posts reads its form once.

Every hit on /f/<slug>/ needs the form's definition (fields, limits, what to answer).
Reading it is a query plus an ORM row, more than all the rest of a post, so each
process keeps what it read for TTL seconds. An edit, an unpublish or a deletion in
the admin reaches every process within TTL, and the process that saved it at once
(the signals below, connected in LandingConfig.ready). The row is shared read-only
by the requests of the process, like Django's own cached templates.
"""

import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404

from landing.models import Form

TTL = 2.0  # seconds an edit may take to reach the other processes
KEPT = 500  # slugs per process; a flood of unknown slugs empties the table instead of growing it

_forms: dict[str, tuple[float, Form | None]] = {}


def published_form(slug: str) -> Form:
    """The published form with this slug, read at most once per TTL; Http404 when there is none."""
    now = time.monotonic()
    found = _forms.get(slug)
    if found is None or now - found[0] > TTL:
        if len(_forms) >= KEPT:
            _forms.clear()
        found = _forms[slug] = (now, Form.objects.filter(slug=slug, published=True).first())
    if found[1] is None:
        raise Http404("no published form with this slug")
    return found[1]


@receiver(post_save, sender=Form, dispatch_uid="landing.form_cache.saved")
@receiver(post_delete, sender=Form, dispatch_uid="landing.form_cache.deleted")
def forget(**kwargs) -> None:
    """A form changed in this process: read every form again (a rename leaves the old slug stale)."""
    clear()


def clear() -> None:
    _forms.clear()
