"""Dependencies point one way (CONTRIBUTING.md): the spine imports no app, nothing imports reports/,
and the MA apps do not reach into the sales workspace; mautomation/lib imports no app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = {"leads", "scoring", "campaigns", "landing", "reports", "sales"}
FORBIDDEN = {
    "leads": APPS - {"leads"},
    "scoring": {"campaigns", "landing", "reports", "sales"},
    "campaigns": {"reports", "sales"},
    "landing": {"reports", "sales"},
    "sales": {"campaigns", "landing", "reports"},
    "mautomation/lib": APPS,
}


def imported_apps(folder: Path) -> dict[str, str]:
    """Top-level app name → the first file importing it, for every module under the folder."""
    found: dict[str, str] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_an_app_imports_only_what_it_may(package):
    imports = imported_apps(ROOT / package)
    wrong = {app: imports[app] for app in FORBIDDEN[package] if app in imports}
    assert wrong == {}, f"{package} imports {wrong}"
