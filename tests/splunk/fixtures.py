"""Fixtures for every folder that talks to the session world's Splunk (a pytest plugin, listed
in the root conftest): splunklib as a student connects, and a fresh index per test."""

from __future__ import annotations

import pytest

from tests.splunk.splunklab import Splunk, unique


@pytest.fixture(scope="session")
def splunk(lab_world) -> Splunk:
    return Splunk.from_settings(lab_world.settings)


@pytest.fixture(scope="session")
def service(splunk):
    """splunklib connected with the admin password, as a student connects."""
    return splunk.connect()


@pytest.fixture
def index(service):
    """A fresh index for one test (its searches see only its own events), removed afterwards."""
    name = unique("ix")
    service.indexes.create(name)
    yield name
    if name in service.indexes:
        service.indexes.delete(name)
