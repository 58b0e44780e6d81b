"""Fixtures for the Jira tests: the session's world (Data Center mode), a Cloud-mode process."""

from __future__ import annotations

import pytest
from jira import JIRA

from tests.jira.jiralab import JiraProcess, jira_process


@pytest.fixture(scope="session")
def jira_env(lab_world) -> dict[str, str]:
    return {k: v for k, v in lab_world.settings.items() if k.startswith("JIRA_")}


@pytest.fixture(scope="session")
def client(jira_env) -> JIRA:
    """The official client against the world's Jira, as a student makes one."""
    return JIRA(
        jira_env["JIRA_URL"],
        basic_auth=(jira_env["JIRA_USER"], jira_env["JIRA_TOKEN"]),
        max_retries=0,
    )


@pytest.fixture(scope="session")
def cloud(tmp_path_factory) -> JiraProcess:
    """A separate Jira process that answers like Jira Cloud."""
    with jira_process(tmp_path_factory.mktemp("jira-cloud"), deployment="Cloud") as proc:
        yield proc


@pytest.fixture(scope="session")
def cloud_client(cloud) -> JIRA:
    return cloud.client()


@pytest.fixture
def new_issue(client):
    """A factory for fresh tickets with a unique label, so tests never see each other's."""

    def make(**fields):
        fields.setdefault("summary", "Test ticket")
        fields.setdefault("issuetype", {"name": "Task"})
        return client.create_issue(project="SEC", **fields)

    return make
