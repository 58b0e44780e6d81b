"""Fixtures for the alerting tests: the session's world, splunklib, an index, a receiver."""

from __future__ import annotations

import pytest

from helpers.receivers import Receiver
from tests.alerts.alertlab import Alerts


@pytest.fixture
def receiver():
    with Receiver() as rx:
        yield rx


@pytest.fixture
def alerts(splunk, service, index):
    """Create alerts and send events for one test; its saved searches are removed afterwards."""
    lab = Alerts(splunk, service, index)
    yield lab
    lab.cleanup()
