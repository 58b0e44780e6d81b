"""Fixtures for the alerting tests: the session's world, splunklib, an index, a receiver."""

from __future__ import annotations

import pytest

from helpers.receivers import Receiver
from tests.alerts.alertlab import Alerts
from tests.splunk.splunklab import Splunk, unique


@pytest.fixture(scope="session")
def splunk(lab_world) -> Splunk:
    return Splunk.from_settings(lab_world.settings)


@pytest.fixture(scope="session")
def service(splunk):
    return splunk.connect()


@pytest.fixture
def index(service):
    """A fresh index per test: each test's searches see only its own events."""
    name = unique("ix")
    service.indexes.create(name)
    yield name
    if name in service.indexes:
        service.indexes.delete(name)


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
