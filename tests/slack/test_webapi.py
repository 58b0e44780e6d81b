"""Web API methods through the real ``slack_sdk.WebClient``."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

pytestmark = pytest.mark.stack


def _error(call) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


def test_auth_test_describes_the_bot(client):
    resp = client.auth_test()
    assert resp["ok"] and resp["bot_id"] and resp["team_id"].startswith("T")
    assert resp["url"].startswith("http://127.0.0.1:")


def test_bad_or_missing_token_is_refused(slack_settings):
    url = slack_settings["SLACK_API_URL"]
    assert _error(WebClient(token="xoxb-forged", base_url=url).auth_test) == "invalid_auth"
    assert _error(WebClient(base_url=url).auth_test) == "not_authed"
    forged = WebClient(token="xoxb-forged", base_url=url)
    assert _error(lambda: forged.chat_postMessage(channel="#general", text="x")) == "invalid_auth"


def test_post_message_returns_the_real_shape(client, channel):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    resp = client.chat_postMessage(channel="#" + channel["name"], text="hi", blocks=blocks)
    assert resp["channel"] == channel["id"]
    assert resp["message"]["ts"] == resp["ts"]
    assert resp["message"]["text"] == "hi"
    assert resp["message"]["blocks"] == blocks
    assert resp["message"]["bot_id"] == client.auth_test()["bot_id"]


def test_unknown_channels_are_channel_not_found(client, channel):
    assert _error(lambda: client.chat_postMessage(channel="#nope", text="x")) == "channel_not_found"
    assert _error(lambda: client.conversations_history(channel="CNOPE")) == "channel_not_found"
    # Like Slack, conversations.* take channel ids, not names.
    by_name = lambda: client.conversations_history(channel="#" + channel["name"])  # noqa: E731
    assert _error(by_name) == "channel_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
    ],
)
def test_post_message_errors(client, channel, kwargs, code):
    assert _error(lambda: client.chat_postMessage(channel=channel["id"], **kwargs)) == code


def test_threads_history_and_replies(client, channel):
    parent = client.chat_postMessage(channel=channel["id"], text="incident")
    client.chat_postMessage(channel=channel["id"], text="update 1", thread_ts=parent["ts"])
    reply = client.chat_postMessage(channel=channel["id"], text="update 2", thread_ts=parent["ts"])
    client.chat_postMessage(channel=channel["id"], text="another")
    assert reply["message"]["thread_ts"] == parent["ts"]

    history = client.conversations_history(channel=channel["id"])["messages"]
    assert [m["text"] for m in history] == ["another", "incident"]  # newest first, no replies
    assert history[1]["reply_count"] == 2
    assert history[1]["latest_reply"] == reply["ts"]

    thread = client.conversations_replies(channel=channel["id"], ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["incident", "update 1", "update 2"]
    missing = lambda: client.conversations_replies(channel=channel["id"], ts="1.1")  # noqa: E731
    assert _error(missing) == "thread_not_found"


def test_history_pages_with_cursor(client, channel):
    for n in range(5):
        client.chat_postMessage(channel=channel["id"], text=f"m{n}")
    first = client.conversations_history(channel=channel["id"], limit=3)
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=channel["id"], limit=3, cursor=cursor)
    texts = [m["text"] for m in first["messages"] + second["messages"]]
    assert texts == ["m4", "m3", "m2", "m1", "m0"]
    assert second["has_more"] is False


def test_metadata_only_with_include_all_metadata(client, channel):
    metadata = {"event_type": "security_incident", "event_payload": {"dedup_key": "k"}}
    client.chat_postMessage(channel=channel["id"], text="x", metadata=metadata)
    plain = client.conversations_history(channel=channel["id"])["messages"][0]
    full = client.conversations_history(channel=channel["id"], include_all_metadata=True)
    assert "metadata" not in plain
    assert full["messages"][0]["metadata"] == metadata


def test_chat_update_edits_in_place(client, channel):
    posted = client.chat_postMessage(channel=channel["id"], text="Approval needed")
    updated = client.chat_update(channel=channel["id"], ts=posted["ts"], text="Approved by alice")
    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "Approved by alice"
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert message["text"] == "Approved by alice" and "edited" in message
    missing = lambda: client.chat_update(channel=channel["id"], ts="1.1", text="x")  # noqa: E731
    assert _error(missing) == "message_not_found"


def test_chat_update_keeps_blocks_it_is_not_given(client, channel):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*kept*"}}]
    posted = client.chat_postMessage(channel=channel["id"], text="v1", blocks=blocks)
    client.chat_update(channel=channel["id"], ts=posted["ts"], text="v2")
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert (message["text"], message["blocks"]) == ("v2", blocks)


def test_webhook_messages_cannot_be_updated_by_the_bot(client, channel):
    WebhookClient(channel["webhook_url"]).send(text="from a webhook")
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    update = lambda: client.chat_update(channel=channel["id"], ts=message["ts"], text="y")  # noqa: E731
    assert _error(update) == "cant_update_message"


def test_unknown_method(client):
    assert _error(lambda: client.api_call("chat.unfurl")) == "unknown_method"


def test_rate_limit_raises_without_a_retry_handler(faults, client):
    faults.rate_limit(1, retry_after=1)
    with pytest.raises(SlackApiError) as info:
        client.auth_test()
    assert info.value.response.status_code == 429
    assert info.value.response["error"] == "ratelimited"
    assert int(info.value.response.headers["Retry-After"][0]) == 1
