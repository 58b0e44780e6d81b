"""Fixtures every test folder shares: the one browser fixture, and private worlds.

Private service processes come from ``labstack.process.spawn`` (see ``jira_process``,
``slack_process`` and ``splunk_process`` in each folder's helpers); the session's world from the
root ``conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from labstack.world import World
from tests.browser.cdp import Browser, chromium_path


@pytest.fixture
def browser():
    """The system's headless Chromium, skipped only when it is not installed."""
    binary = chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    with Browser(binary) as browser:
        yield browser


@contextmanager
def private_world(home: Path, only: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """A world of its own for one test module (``only`` these services), its settings exported
    into ``os.environ`` while it runs and the session's put back afterwards."""
    from helpers.config import get_settings

    with World.scratch(home, only=only) as world:
        settings = world.read_env()
        saved = {k: os.environ.get(k) for k in settings}
        os.environ.update(settings)
        get_settings.cache_clear()
        try:
            yield settings
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()
