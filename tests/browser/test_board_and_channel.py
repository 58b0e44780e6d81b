"""A person's view of the local world: the Jira board, the Slack channel, and an Approve click.

Headless Chromium opens the Jira board and finds a ticket created through the official ``jira``
client, opens the Slack channel and finds the incident posted through ``helpers.slack``, then
clicks Approve; the signed ``block_actions`` callback must reach a receiver and verify.
"""

from __future__ import annotations

import json
import uuid

import pytest
from jira import JIRA

from helpers import slack
from helpers.receivers import SlackActionReceiver
from labstack import services
from tests.slack.lab import INCIDENT, SlackAdmin

pytestmark = pytest.mark.stack


@pytest.fixture
def admin(lab_world) -> SlackAdmin:
    return SlackAdmin(lab_world.settings["SLACK_API_URL"], lab_world.settings["SLACK_BOT_TOKEN"])


@pytest.fixture
def ticket(lab_world):
    if "jira" not in {s.name for s in services.all_services()}:
        pytest.skip("the Jira service is not registered")
    env = lab_world.settings
    client = JIRA(env["JIRA_URL"], basic_auth=(env["JIRA_USER"], env["JIRA_TOKEN"]), max_retries=0)
    summary = f"Security group opened to the world ({uuid.uuid4().hex[:6]})"
    return client.create_issue(project=env["JIRA_PROJECT"], summary=summary, issuetype="Task")


def test_jira_board_shows_the_created_ticket(browser, lab_world, ticket):
    browser.open(lab_world.url("jira") + "/board")
    card = f"article.ticket[data-key='{ticket.key}']"
    browser.wait_for(f"!!document.querySelector({json.dumps(card)})", f"card {ticket.key}")
    assert browser.visible(card)
    assert ticket.fields.summary in browser.text()


def test_slack_ticket_link_opens_the_jira_ticket(browser, lab_world, admin, ticket):
    channel = admin.new_channel("browser")
    incident = dict(INCIDENT, resource=f"sg-{uuid.uuid4().hex[:17]}")
    note = slack.notify_incident(incident, ticket, channel=channel["id"])

    browser.open(f"{lab_world.url('slack')}/archives/{channel['id']}")
    link = f"[data-ts='{note.ts}'] a[href='{ticket.permalink()}']"
    assert browser.visible(link)
    browser.click(link)
    browser.wait_for(
        f"location.pathname === '/browse/{ticket.key}' && document.readyState === 'complete'",
        f"the Jira page of {ticket.key}",
    )
    assert ticket.fields.summary in browser.text()


def test_slack_channel_shows_the_message_and_approve_reaches_the_receiver(
    browser, lab_world, admin, receiver_for_browser
):
    channel = admin.new_channel("browser")
    incident = dict(INCIDENT, resource=f"sg-{uuid.uuid4().hex[:17]}")
    note = slack.notify_incident(incident, "SEC-1", channel=channel["id"])
    ask = slack.request_approval(
        incident, "revoke 0.0.0.0/0:22", ticket="SEC-1", channel=channel["id"]
    )

    browser.open(f"{lab_world.url('slack')}/archives/{channel['id']}")
    assert browser.visible(f"[data-ts='{note.ts}']")
    page = browser.text()
    assert "Security group opened to the world" in page
    assert incident["resource"] in page and "platform-team" in page

    approve = f"[data-ts='{ask.ts}'] button[data-action-id='{slack.ACTION_APPROVE}']"
    assert browser.visible(approve)
    admin.set_request_url(receiver_for_browser.url)
    try:
        browser.click(approve)
        click = receiver_for_browser.wait(timeout=20)[-1]
    finally:
        admin.set_request_url(None)
    assert click.approved and click.user == "alice"
    assert click.message_ts == ask.ts
    assert click.request == {
        "dedup_key": slack.dedup_key(incident),
        "action": "revoke 0.0.0.0/0:22",
        "ticket": "SEC-1",
    }
    assert receiver_for_browser.rejected == 0
    browser.wait_for(
        "document.body.innerText.includes('alice clicked “Approve” · delivered')",
        "the click's outcome on the page",
    )


@pytest.fixture
def receiver_for_browser(lab_world):
    with SlackActionReceiver(signing_secret=lab_world.settings["SLACK_SIGNING_SECRET"]) as r:
        yield r
