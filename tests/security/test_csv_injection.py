"""CSV formula injection: every CSV export neutralises cells a spreadsheet would run (= + - @ tab CR first)."""

import csv
import io

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.models import Campaign
from leads.models import CustomField, Lead, Tag
from mautomation.lib.spreadsheet_cells import neutralise, unquote
from tests.factories import make_lead
from tests.security import routes, world
from tests.security.outcomes import client_for

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1",
            "=cmd|' /C calc'!A0"]  # fmt: skip
RUNNABLE = ("=", "+", "-", "@", "\t", "\r")
# Every URL pattern that answers text/csv (a new one fails test_no_other_url_answers_csv until it is listed here).
CSV_ROUTES = {
    "sales/export.csv", "admin/reports/", "admin/reports/planner/", "admin/reports/campaigns/",
    "admin/reports/campaigns/<int:pk>/", "admin/reports/templates/<int:pk>/", "admin/reports/kpis/",
    "admin/leads/lead/",  # the changelist's export actions (POST)
}  # fmt: skip


def hostile_world(people: dict) -> dict:
    """The world, with formulas in every lead text field, custom field label and value, tag, source and name."""
    objects = world.build(people)
    CustomField.objects.filter(pk=objects["leads.customfield"]).update(label="=1+2")
    tag = Tag.objects.create(name="@tag")
    for n, formula in enumerate(FORMULAS):
        lead = make_lead(f"f{n}@example.co.jp", last_name=formula, first_name=formula, company_name=formula,
                         title=formula, department=formula, source=formula, custom={"budget": formula},
                         stage=Lead.Stage.MQL, mql_at=timezone.now(), owner=people["sales"])  # fmt: skip
        lead.tags.add(tag)
    Campaign.objects.update(name=FORMULAS[0], status=Campaign.Status.SENT, started_at=timezone.now())
    return objects


def cells(response) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    charset = response["Content-Type"].split("charset=")[-1]
    text = body.decode("cp932" if charset in ("windows-31j", "cp932", "shift_jis") else "utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def exports(client, objects: dict) -> dict[str, object]:
    selected = list(Lead.objects.values_list("pk", flat=True))
    found = {
        f"lead action {action}": client.post("/admin/leads/lead/", {"action": action, "_selected_action": selected})
        for action in ("export_as_csv", "export_as_csv_cp932")
    }
    found["workspace"] = client.get("/sales/export.csv")
    for url in ("/admin/reports/", "/admin/reports/planner/", "/admin/reports/campaigns/",
                f"/admin/reports/campaigns/{objects['campaigns.campaign']}/",
                f"/admin/reports/templates/{objects['campaigns.emailtemplate']}/"):  # fmt: skip
        found[url] = client.get(url, {"format": "csv"})
    for table in ("kpis", "sources", "lifecycle"):
        found[f"kpis {table}"] = client.get("/admin/reports/kpis/", {"format": "csv", "table": table})
    return found


def test_every_csv_export_neutralises_formula_cells():
    people = world.users()
    objects = hostile_world(people)
    shown = 0
    for name, response in exports(client_for(people["superuser"]), objects).items():
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), name
        found = cells(response)
        assert [cell for cell in found if cell.startswith(RUNNABLE)] == [], name
        shown += sum(cell.startswith("'") and cell[1:2] in RUNNABLE for cell in found)
    assert shown >= 3 * len(FORMULAS) * 6


def test_no_other_url_answers_csv():
    people = world.users()
    objects = world.build(people)
    client = client_for(people["superuser"])
    answering = set()
    for route in routes.all_routes():
        response = client.get(route.url(objects), {"format": "csv"})
        if response.get("Content-Type", "").startswith("text/csv"):
            answering.add(route.route)
    assert answering | {"admin/leads/lead/"} == CSV_ROUTES


@pytest.mark.parametrize("value", [*FORMULAS, "=", "-", "\t", "\r\n=1"])
def test_the_shared_helper_quotes_each_formula_start(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["山田", "1+1", " =1", "a=b", "", None, 42, "'quoted", "''x", "'", "' =1"])
def test_the_shared_helper_leaves_other_values_as_they_are(value):
    assert neutralise(value) == ("" if value is None else str(value))


@pytest.mark.parametrize("value", ["'=SUM(A1)", "''=1", "'+81", "'''-x", "'@", "'\t=1"])
def test_a_value_with_quotes_before_a_formula_start_gets_one_more(value):
    """The import takes one quote off such a cell: the value's own quotes must survive it."""
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", [*FORMULAS, "山田", "", "1+1", "'quoted", "'=SUM(A1)", "''x", "''=1", "'"])
def test_the_importer_reads_a_neutralised_cell_back_as_it_was(value):
    assert unquote(neutralise(value)) == value


# Arbitrary text, often behind quotes and formula characters: the starts the two functions look at.
starts = st.lists(st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "\n", " ", '"', ",", "a"]), max_size=4)
cell_values = st.builds(
    lambda start, rest: "".join(start) + rest, starts, st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
)


@settings(max_examples=500, deadline=None)
@given(values=st.lists(cell_values, min_size=1, max_size=5))
def test_every_value_survives_an_export_and_import_through_csv_and_none_runs(values):
    """What the exports write, read back by the csv module and unquoted as the importer does, is the value;
    and no written cell starts with a character a spreadsheet would run."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(neutralise(value) for value in values)
    written = next(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert [cell for cell in written if cell.startswith(RUNNABLE)] == []
    assert [unquote(cell) for cell in written] == values
