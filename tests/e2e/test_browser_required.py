"""Without Chromium the end-to-end tests fail with the fix; only an explicit MAUTOMATION_SKIP_E2E=1 skips them."""

import pytest

from tests.e2e.conftest import require_browser


def test_missing_chromium_fails_with_the_install_command(monkeypatch) -> None:
    monkeypatch.delenv("MAUTOMATION_SKIP_E2E", raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium chromium-driver"):
        require_browser("/nonexistent/chromium")


def test_missing_chromium_is_skipped_only_when_a_developer_says_so(monkeypatch) -> None:
    monkeypatch.setenv("MAUTOMATION_SKIP_E2E", "1")
    with pytest.raises(pytest.skip.Exception, match="MAUTOMATION_SKIP_E2E=1"):
        require_browser("/nonexistent/chromium")
