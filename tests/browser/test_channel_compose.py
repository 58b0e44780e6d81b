"""The Slack channel view in a browser: typing a message, and new messages appearing by
themselves without losing what is being typed."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient

from tests.slack.lab import SlackAdmin

pytestmark = pytest.mark.stack

BOX = "#compose input[name=text]"


@pytest.fixture
def channel(lab_world) -> dict:
    env = lab_world.settings
    return SlackAdmin(env["SLACK_API_URL"], env["SLACK_BOT_TOKEN"]).new_channel("view")


@pytest.fixture
def client(lab_world) -> WebClient:
    env = lab_world.settings
    return WebClient(token=env["SLACK_BOT_TOKEN"], base_url=env["SLACK_API_URL"])


def _shows(text: str) -> str:
    return f"document.getElementById('messages').innerText.includes({json.dumps(text)})"


def test_a_typed_message_posts_as_the_signed_in_user(browser, lab_world, channel, client):
    browser.open(f"{lab_world.url('slack')}/archives/{channel['id']}?as=bob")
    browser.type(BOX, "<i>on it</i> & checking")
    browser.press_enter()
    browser.wait_for(_shows("<i>on it</i> & checking"), "bob's message")
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert message["user"] == "U0LAB0002"
    assert browser.evaluate("document.querySelectorAll('#messages i').length") == 0


def test_new_messages_appear_and_the_typed_text_stays(browser, lab_world, channel, client):
    browser.open(f"{lab_world.url('slack')}/archives/{channel['id']}")
    browser.type(BOX, "half a sentence")
    client.chat_postMessage(channel=channel["id"], text="posted while typing")
    browser.wait_for(_shows("posted while typing"), "the new message without a reload")
    assert browser.evaluate(f"document.querySelector({json.dumps(BOX)}).value") == (
        "half a sentence"
    )
