"""Fixtures every test folder shares: the one browser fixture.

Private service processes come from ``labstack.process.spawn`` (see ``jira_process``,
``slack_process`` and ``splunk_process`` in each folder's helpers); the session's world from the
root ``conftest.py``.
"""

from __future__ import annotations

import pytest

from tests.browser.cdp import Browser, chromium_path


@pytest.fixture
def browser():
    """The system's headless Chromium, skipped only when it is not installed."""
    binary = chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    with Browser(binary) as browser:
        yield browser
