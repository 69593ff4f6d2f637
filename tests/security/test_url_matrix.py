"""Role × URL: every URL pattern of the project, with real ids, opened by every role, answers as the table says."""

import pytest

from tests.security import routes, world
from tests.security.outcomes import client_for, outcome
from tests.security.url_table import EXPECTED

pytestmark = pytest.mark.django_db


def test_every_url_pattern_is_classified():
    """A new view must be added to url_table.EXPECTED (and a removed one taken out) before it ships."""
    found = {route.route for route in routes.all_routes()}
    assert sorted(found - EXPECTED.keys()) == [], "URL patterns missing from tests/security/url_table.py"
    assert sorted(EXPECTED.keys() - found) == [], "rows of tests/security/url_table.py that match no URL pattern"


def test_the_table_names_each_role():
    assert {len(cells.split()) for cells in EXPECTED.values()} == {len(world.ROLES)}


@pytest.mark.parametrize("role", world.ROLES)
def test_each_url_answers_the_role_as_the_table_says(role):
    people = world.users()
    objects = world.build(people)
    column = world.ROLES.index(role)
    client = client_for(people[role])
    wrong = []
    for route in routes.all_routes():
        url = route.url(objects)
        got, expected = outcome(client.get(url)), EXPECTED[route.route].split()[column]
        if got != expected:
            wrong.append(f"{url} ({route.route}): expected {expected}, got {got}")
    assert wrong == [], f"{role}:\n" + "\n".join(wrong)
