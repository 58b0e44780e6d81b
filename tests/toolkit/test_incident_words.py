"""Jira and Slack read incidents through helpers.incident: one severity vocabulary everywhere."""

from __future__ import annotations

from types import SimpleNamespace

from helpers import jira, slack
from helpers.config import Settings
from helpers.incident import Incident, Severity
from helpers.runtime.locks import KeyLocks

SETTINGS = Settings(_env_file=None, jira_url="http://jira.example", jira_project="SEC")
ROW = {  # a detection's result row, as the alert carries it
    "detection": "guardduty-disabled",
    "severity": "info",
    "resource": "detector-1",
    "account": "123456789012",
}


class FakeJira:
    """Just enough of ``jira.JIRA`` to open a ticket."""

    def __init__(self):
        self.created: list[dict] = []

    def fields(self):
        return [{"name": "Dedup Key", "id": "customfield_10050"}]

    def search_issues(self, jql, maxResults=50):
        return []

    def create_issue(self, fields):
        self.created.append(fields)
        return SimpleNamespace(key=f"SEC-{len(self.created)}")


class CountingLocks(KeyLocks):
    def __init__(self):
        super().__init__()
        self.keys: list[str] = []

    def hold(self, key):
        self.keys.append(key)
        return super().hold(key)


def test_an_info_detection_gets_the_lowest_priority():
    client, locks = FakeJira(), CountingLocks()
    ticket = jira.open_or_update_incident(ROW, client=client, settings=SETTINGS, locks=locks)
    assert ticket.created and ticket.key == "SEC-1"
    assert client.created[0]["priority"] == {"name": "Lowest"}
    assert locks.keys == ["jira:guardduty-disabled:detector-1:123456789012"]


def test_an_incident_object_works_like_its_row():
    client = FakeJira()
    incident = Incident.from_result(ROW)
    jira.open_or_update_incident(incident, client=client, settings=SETTINGS)
    fields = client.created[0]
    assert fields["customfield_10050"] == incident.dedup_key
    assert fields["summary"] == "guardduty-disabled (detector-1)"
    assert "* *Severity:* informational" in fields["description"]


def test_an_info_detection_gets_the_informational_emoji():
    blocks = slack.incident_blocks(ROW, settings=SETTINGS)
    assert (
        blocks[1]["fields"][0]["text"]
        == f"*Severity*\n{Severity.INFORMATIONAL.emoji} informational"
    )
    assert Severity.INFORMATIONAL.emoji == ":white_circle:"


def test_slack_reads_owner_and_details_from_a_mapping():
    row = dict(ROW, account_owner="security-team", description="GuardDuty was switched off")
    text = str(slack.incident_blocks(row, "SEC-2", settings=SETTINGS))
    assert "security-team (123456789012)" in text and "GuardDuty was switched off" in text
    assert "<http://jira.example/browse/SEC-2|SEC-2>" in text
