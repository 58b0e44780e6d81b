"""Incoming webhooks through the real ``slack_sdk.WebhookClient``."""

from __future__ import annotations

import pytest
import requests
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

pytestmark = pytest.mark.stack


def test_send_answers_ok_and_lands_in_its_channel(client, channel):
    resp = WebhookClient(channel["webhook_url"]).send(
        text="S3 bucket public",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*Alert*"}}],
    )
    assert (resp.status_code, resp.body) == (200, "ok")
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert message["text"] == "S3 bucket public"
    assert message["subtype"] == "bot_message"
    assert message["blocks"][0]["text"]["text"] == "*Alert*"


def test_each_channel_has_its_own_url(admin, client):
    first, second = admin.new_channel(), admin.new_channel()
    assert first["webhook_url"] != second["webhook_url"]
    WebhookClient(second["webhook_url"]).send(text="only here")
    assert client.conversations_history(channel=first["id"])["messages"] == []
    assert len(client.conversations_history(channel=second["id"])["messages"]) == 1


def test_settings_url_posts_to_the_configured_channel(slack_settings, client):
    resp = WebhookClient(slack_settings["SLACK_WEBHOOK_URL"]).send(text="to the default channel")
    assert resp.body == "ok"
    channels = client.conversations_list()["channels"]
    default = next(c for c in channels if "#" + c["name"] == slack_settings["SLACK_CHANNEL"])
    texts = [m["text"] for m in client.conversations_history(channel=default["id"])["messages"]]
    assert "to the default channel" in texts


@pytest.mark.parametrize(
    ("mangle", "status", "body"),
    [
        (lambda url: url[:-1] + ("0" if url[-1] != "0" else "1"), 404, "no_service"),
        (lambda url: url.rsplit("/", 2)[0] + "/BNOPE/x", 404, "no_service"),
    ],
)
def test_wrong_url_is_no_service(channel, mangle, status, body):
    resp = WebhookClient(mangle(channel["webhook_url"])).send(text="x")
    assert (resp.status_code, resp.body) == (status, body)


def test_bad_payloads_get_slack_error_texts(client, channel):
    hook = WebhookClient(channel["webhook_url"])
    no_text = hook.send_dict({"unfurl_links": False})
    assert (no_text.status_code, no_text.body) == (400, "no_text")
    bad_blocks = hook.send(text="x", blocks=[{"no": "type"}])
    assert (bad_blocks.status_code, bad_blocks.body) == (400, "invalid_blocks")
    session = requests.Session()
    session.trust_env = False
    raw = session.post(channel["webhook_url"], data=b"{not json", timeout=5)
    assert (raw.status_code, raw.text) == (400, "invalid_payload")
    assert client.conversations_history(channel=channel["id"])["messages"] == []


def test_classic_form_payload_is_accepted(client, channel):
    session = requests.Session()
    session.trust_env = False
    resp = session.post(
        channel["webhook_url"], data={"payload": '{"text": "form post"}'}, timeout=5
    )
    assert (resp.status_code, resp.text) == (200, "ok")
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert message["text"] == "form post"


def test_thread_ts_makes_a_reply(client, channel):
    parent = client.chat_postMessage(channel=channel["id"], text="parent")
    WebhookClient(channel["webhook_url"]).send_dict({"text": "reply", "thread_ts": parent["ts"]})
    thread = client.conversations_replies(channel=channel["id"], ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["parent", "reply"]


def test_rate_limit_answers_429_with_integer_retry_after(faults, channel):
    faults.rate_limit(1, retry_after=1)
    resp = WebhookClient(channel["webhook_url"]).send(text="too fast")
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"][0]) == 1
    retrying = WebhookClient(
        channel["webhook_url"], retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    faults.rate_limit(1, retry_after=0)
    assert retrying.send(text="after waiting").body == "ok"
