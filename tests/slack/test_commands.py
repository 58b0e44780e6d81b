"""Slash commands typed in the view's message box reach the app as Slack sends them; plain
messages post as the signed-in user; a forged POST sends nothing."""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from labstack.world import free_port
from tests.slack.lab import CommandReceiver, ViewUser

pytestmark = pytest.mark.stack

FIELDS = {"token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
          "command", "text", "api_app_id", "response_url", "trigger_id"}  # fmt: skip


@pytest.fixture
def app_command(admin):
    """``/labecho`` pointed at a receiver that answers ephemerally."""
    answer = {"response_type": "ephemeral", "text": "echo: *done*"}
    with CommandReceiver(answer) as receiver, admin.commands({"/labecho": receiver.url}):
        yield receiver


def _form(request: dict) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(request["body"].decode()).items()}


def test_commands_are_configured_persisted_and_shown(admin):
    with admin.commands({"/labecho": "http://127.0.0.1:1/slack/commands"}):
        shown = admin.interactivity()
        assert shown["commands"] == {"/labecho": "http://127.0.0.1:1/slack/commands"}
        assert shown["configured_commands"] == shown["commands"]
    bad = [{"labecho": "http://x"}, {"/labecho": "file:///etc/passwd"}, ["/labecho"],
           {"/Not Valid": "http://x"}]  # fmt: skip
    for commands in bad:
        resp = admin.session.put(
            f"{admin.root}/_lab/interactivity", json={"commands": commands}, timeout=10
        )
        assert resp.status_code == 400, commands


def test_a_typed_command_is_delivered_signed_as_slack_sends_it(
    admin, client, channel, app_command, slack_settings
):
    resp = ViewUser(admin.root, "bob").send(channel["id"], "/labecho status  SEC-1 ")
    assert resp.status_code == 200
    [request] = app_command.requests
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    verifier = SignatureVerifier(slack_settings["SLACK_SIGNING_SECRET"])
    assert verifier.is_valid_request(body, headers)
    form = _form(request)
    assert set(form) >= FIELDS
    assert form["command"] == "/labecho" and form["text"] == "status  SEC-1"
    assert (form["user_name"], form["user_id"]) == ("bob", "U0LAB0002")
    assert (form["channel_id"], form["channel_name"]) == (channel["id"], channel["name"])
    assert form["response_url"].startswith(admin.root + "/commands/")
    # The immediate answer is shown to bob only, not to alice, nor in the channel's history.
    assert "echo: <b>done</b>" in resp.text and "Only visible to bob" in resp.text
    assert "echo:" not in ViewUser(admin.root, "alice").page(channel["id"])
    assert client.conversations_history(channel=channel["id"])["messages"] == []


def test_later_answers_through_the_response_url_appear(admin, client, channel, app_command):
    bob = ViewUser(admin.root, "bob")
    bob.send(channel["id"], "/labecho sweep")
    hook = WebhookClient(_form(app_command.requests[-1])["response_url"])
    assert hook.send(text="swept: 2 groups open").body == "ok"
    assert hook.send(text="closed both", response_type="in_channel").body == "ok"
    assert "swept: 2 groups open" in bob.page(channel["id"])
    alice_sees = ViewUser(admin.root, "alice").page(channel["id"])
    assert "closed both" in alice_sees and "swept:" not in alice_sees
    texts = [m["text"] for m in client.conversations_history(channel=channel["id"])["messages"]]
    assert texts == ["closed both"]


def test_an_in_channel_answer_shows_the_command_to_everyone(admin, client, channel):
    answer = {"response_type": "in_channel", "text": "SEC-1 is planned"}
    with CommandReceiver(answer) as receiver, admin.commands({"/labecho": receiver.url}):
        ViewUser(admin.root, "alice").send(channel["id"], "/labecho status SEC-1")
    history = client.conversations_history(channel=channel["id"])["messages"]
    assert [(m["text"], m.get("user")) for m in reversed(history)] == [
        ("/labecho status SEC-1", "U0LAB0001"),
        ("SEC-1 is planned", "U0LABBOT1"),
    ]


def test_a_plain_text_answer_and_an_empty_answer(admin, channel):
    bob = ViewUser(admin.root, "bob")
    texting = CommandReceiver("working on it")
    with texting as receiver, admin.commands({"/labecho": receiver.url}):
        assert "working on it" in bob.send(channel["id"], "/labecho sweep").text
    with CommandReceiver(None) as receiver, admin.commands({"/labecho": receiver.url}):
        before = bob.page(channel["id"]).count('class="msg')
        page = bob.send(channel["id"], "/labecho sweep").text
    assert receiver.requests and page.count('class="msg') == before


def test_an_unknown_command_is_not_a_valid_command(admin, channel, app_command):
    page = ViewUser(admin.root).send(channel["id"], "/nosuchcmd hello").text
    assert "<code>/nosuchcmd</code> is not a valid command" in page
    assert app_command.requests == []


def test_an_app_that_fails_or_is_down_is_said(admin, channel):
    alice = ViewUser(admin.root)
    failing = CommandReceiver({"error": "boom"}, status=500)
    with failing as receiver, admin.commands({"/labecho": receiver.url}):
        page = alice.send(channel["id"], "/labecho status").text
    assert 'failed with the error "http_service_error"' in page
    down = f"http://127.0.0.1:{free_port()}/slack/commands"
    with admin.commands({"/labecho": down}):
        page = alice.send(channel["id"], "/labecho status").text
    assert 'failed with the error "dispatch_failed"' in page


def test_a_plain_message_posts_as_the_signed_in_user(admin, client, channel):
    resp = ViewUser(admin.root, "bob").send(channel["id"], "<b>hello</b> from bob")
    assert resp.status_code == 200
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    # Slack's client sends &, < and > escaped, so typed text is never a link or a mention.
    assert (message["text"], message["user"]) == ("&lt;b&gt;hello&lt;/b&gt; from bob", "U0LAB0002")
    assert "&lt;b&gt;hello&lt;/b&gt; from bob" in resp.text  # shown as text


def test_a_forged_command_post_is_refused_and_nothing_is_sent(admin, client, channel, app_command):
    """A POST without the page's CSRF token (or from another site) changes nothing."""
    url = f"{admin.root}/archives/{channel['id']}/message"
    stranger = requests.Session()
    stranger.trust_env = False
    assert stranger.post(url, data={"text": "/labecho approve k"}, timeout=10).status_code == 403
    alice = ViewUser(admin.root)
    token = alice.csrf(channel["id"])
    other = alice.csrf(admin.new_channel()["id"])
    refused = [
        ({"text": "/labecho approve k"}, {}),
        ({"text": "/labecho approve k", "csrf": other}, {}),
        ({"text": "/labecho approve k", "csrf": token}, {"Origin": "http://evil.example"}),
        ({"text": "hello", "csrf": "forged"}, {}),
    ]
    for data, headers in refused:
        resp = alice.http.post(url, data=data, headers=headers, timeout=10)
        assert resp.status_code == 403, (data, headers)
    with_token = {"text": "/labecho approve k", "csrf": token}
    assert stranger.post(url, data=with_token, timeout=10).status_code == 403  # not her session
    assert app_command.requests == []
    assert client.conversations_history(channel=channel["id"])["messages"] == []
