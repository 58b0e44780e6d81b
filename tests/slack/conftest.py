"""Fixtures for the Slack tests: the session's world, real slack_sdk clients, the admin API."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from helpers.receivers import SlackActionReceiver
from tests.slack.lab import SlackAdmin


@pytest.fixture(scope="session")
def slack_settings(lab_world) -> dict:
    return {k: v for k, v in lab_world.settings.items() if k.startswith("SLACK_")}


@pytest.fixture(scope="session")
def admin(slack_settings) -> SlackAdmin:
    return SlackAdmin(slack_settings["SLACK_API_URL"], slack_settings["SLACK_BOT_TOKEN"])


@pytest.fixture
def client(slack_settings) -> WebClient:
    """A plain WebClient (no retry handlers), as a student would make one."""
    return WebClient(
        token=slack_settings["SLACK_BOT_TOKEN"], base_url=slack_settings["SLACK_API_URL"]
    )


@pytest.fixture
def channel(admin) -> dict:
    return admin.new_channel()


@pytest.fixture
def faults(admin):
    """The 429 switch, always switched off again after the test."""
    yield admin
    admin.clear_faults()


@pytest.fixture
def receiver(slack_settings):
    with SlackActionReceiver(signing_secret=slack_settings["SLACK_SIGNING_SECRET"]) as receiver:
        yield receiver
