"""The rollup's batch form: what the stream hands it in one call adds up to what one-by-one would."""

import pytest

from leads import stream
from leads.models import Activity
from reports.models import Counter
from tests.reports.helpers import T0, campaign, leads

pytestmark = pytest.mark.django_db


def test_a_batch_of_sends_and_deliveries_tallies_the_same_counters_as_one_by_one():
    mail = campaign()
    people = leads(30)
    rows = [(lead, "email_sent", {}) for lead in people]
    rows += [(lead, "email_delivered", {"machine": True} if i % 3 == 0 else {}) for i, lead in enumerate(people)]
    rows += [(people[0], "email_opened", {}), (people[0], "email_opened", {})]
    events = Activity.objects.bulk_create(
        Activity(lead=lead, kind=kind, campaign_id=mail.pk, occurred_at=T0, data=data) for lead, kind, data in rows
    )
    assert stream.process_many([a.pk for a in events]) == 62
    got = {(c.kind, c.all_events): (c.total, c.unique) for c in Counter.objects.filter(campaign_id=mail.pk)}
    assert got == {("email_sent", True): (30, 0), ("email_sent", False): (30, 0),
                   ("email_delivered", True): (30, 0), ("email_delivered", False): (20, 0),
                   ("email_opened", True): (2, 1), ("email_opened", False): (2, 1)}  # fmt: skip
