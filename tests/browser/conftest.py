"""The browser fixture: the system's headless Chromium, skipped only when it is not installed."""

from __future__ import annotations

import pytest

from tests.browser.cdp import Browser, chromium_path


@pytest.fixture
def browser():
    binary = chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    with Browser(binary) as browser:
        yield browser
