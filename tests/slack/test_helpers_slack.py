"""helpers.slack against the running workspace: incidents, threads, approvals, 429s, signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests
from slack_sdk.errors import SlackApiError

from helpers import slack
from helpers.config import load_settings
from tests.slack.lab import INCIDENT, SlackAdmin, slack_process

pytestmark = pytest.mark.stack


@pytest.fixture
def incident() -> dict:
    # A unique resource per test keeps dedup keys apart across tests in the shared world.
    return dict(INCIDENT, resource=f"sg-{time.monotonic_ns():x}")


def _thread(client, note):
    return client.conversations_replies(channel=note.channel, ts=note.thread_ts)["messages"]


def test_a_long_incident_is_clipped_to_slacks_limits_not_refused(client, channel, incident):
    """Slack refuses a section over 3000 characters (invalid_blocks): the text is cut instead."""
    incident["details"] = "ingress from anywhere & more; " * 400  # 12,000 characters
    note = slack.notify_incident(incident, "SEC-8", channel=channel["name"])
    ask = slack.request_approval(incident, "revoke " + "x" * 5000, ticket="SEC-8",
                                 channel=channel["name"])  # fmt: skip
    assert ask.thread_ts == note.thread_ts
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    details = message["blocks"][2]["text"]["text"]
    assert len(details) <= slack.SECTION_TEXT_LIMIT and details.endswith("…")
    assert re.search(r"&[a-z#0-9]*…$", details) is None  # no escape cut in half


def test_notify_incident_posts_block_kit(client, channel, incident):
    note = slack.notify_incident(incident, "SEC-7", channel=channel["name"])
    assert note.new_thread and note.channel == channel["id"]
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    fields = " ".join(f["text"] for b in message["blocks"] for f in b.get("fields", []))
    for expected in (
        "high",
        incident["detection"],
        "dev-alice",
        incident["resource"],
        "platform-team",
        "SEC-7",
    ):
        assert expected in fields
    assert message["blocks"][0]["type"] == "header"
    assert any(b["type"] == "context" for b in message["blocks"])


def test_ticket_link_uses_the_ticket_url(channel, client, incident):
    ticket = {"key": "SEC-9", "url": "http://jira.example/browse/SEC-9"}
    slack.notify_incident(incident, ticket, channel=channel["id"])
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert "<http://jira.example/browse/SEC-9|SEC-9>" in json.dumps(message["blocks"])


def test_ticket_objects_and_bare_keys(channel, client, incident, monkeypatch):
    # helpers.jira returns a Ticket with .key and .url; the jira client's Issue has .permalink().
    ticket = SimpleNamespace(key="SEC-11", url="http://jira.example/browse/SEC-11")
    slack.notify_incident(incident, ticket, channel=channel["id"])
    issue = SimpleNamespace(key="SEC-12", permalink=lambda: "http://jira.example/browse/SEC-12")
    slack.notify_incident(dict(incident, resource="other"), issue, channel=channel["id"])
    monkeypatch.setenv("JIRA_URL", "http://jira.example")
    blocks = slack.incident_blocks(incident, "SEC-13", settings=load_settings())
    history = json.dumps(client.conversations_history(channel=channel["id"])["messages"])
    assert "<http://jira.example/browse/SEC-11|SEC-11>" in history
    assert "<http://jira.example/browse/SEC-12|SEC-12>" in history
    assert "<http://jira.example/browse/SEC-13|SEC-13>" in json.dumps(blocks)


def test_same_incident_twice_gives_one_thread(client, channel, incident):
    first = slack.notify_incident(incident, "SEC-1", channel=channel["name"])
    second = slack.notify_incident(incident, "SEC-1", channel=channel["name"])
    assert second.new_thread is False and second.thread_ts == first.thread_ts
    history = client.conversations_history(channel=channel["id"])["messages"]
    assert len(history) == 1
    assert [m["text"].split(":")[0] for m in _thread(client, first)][1:] == ["Seen again"]


def test_concurrent_alerts_for_one_incident_share_a_thread(client, channel, incident):
    with ThreadPoolExecutor(max_workers=4) as pool:
        notes = list(
            pool.map(lambda _: slack.notify_incident(incident, channel=channel["id"]), range(4))
        )
    assert len({n.thread_ts for n in notes}) == 1
    assert sum(n.new_thread for n in notes) == 1
    assert len(client.conversations_history(channel=channel["id"])["messages"]) == 1


def test_other_incidents_get_their_own_threads(channel, incident):
    first = slack.notify_incident(incident, channel=channel["name"])
    other = dict(incident, resource=incident["resource"] + "-b")
    assert slack.notify_incident(other, channel=channel["name"]).thread_ts != first.thread_ts


def test_follow_up_goes_to_the_incident_thread(client, channel, incident):
    note = slack.notify_incident(incident, channel=channel["name"])
    reply = slack.follow_up(incident, "Ingress revoked", channel=channel["name"])
    assert reply.thread_ts == note.thread_ts
    assert _thread(client, note)[-1]["text"] == "Ingress revoked"


def test_follow_up_without_a_thread_opens_one(client, channel, incident):
    reply = slack.follow_up(incident, "Enrichment done", channel=channel["name"])
    texts = [m["text"] for m in _thread(client, reply)]
    assert len(texts) == 2 and texts[1] == "Enrichment done"


def test_request_approval_has_approve_and_deny(client, channel, incident):
    note = slack.notify_incident(incident, "SEC-3", channel=channel["name"])
    ask = slack.request_approval(
        incident, "revoke 0.0.0.0/0:22", ticket="SEC-3", channel=channel["name"]
    )
    assert ask.thread_ts == note.thread_ts
    message = _thread(client, note)[-1]
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [slack.ACTION_APPROVE, slack.ACTION_DENY]
    value = json.loads(buttons[0]["value"])
    assert value == {
        "dedup_key": slack.dedup_key(incident),
        "action": "revoke 0.0.0.0/0:22",
        "ticket": "SEC-3",
    }


def test_approval_click_reaches_a_receiver_and_is_answered(client, channel, incident, receiver):
    ask = slack.request_approval(incident, "disable key AKIAEXAMPLE", channel=channel["name"])
    record = slack.click_button(ask, slack.ACTION_APPROVE, request_url=receiver.url)
    assert record["delivered"]
    click = receiver.wait(timeout=10)[-1]
    assert click.approved and click.request["action"] == "disable key AKIAEXAMPLE"
    slack.respond(click, "Approved by alice")
    replies = client.conversations_replies(channel=ask.channel, ts=ask.thread_ts)["messages"]
    assert next(m for m in replies if m["ts"] == ask.ts)["text"] == "Approved by alice"


def test_helpers_wait_out_rate_limits(faults, channel, incident):
    faults.rate_limit(2, retry_after=0)
    note = slack.notify_incident(incident, channel=channel["name"])
    assert note.new_thread


def test_helpers_give_up_after_their_retries(tmp_path, incident):
    """A workspace of its own: the session's automation posts too, and would use up the 429s."""
    token = "lab-retries-test-token"
    with slack_process(tmp_path, token, "retries-test-signing-secret") as url:
        settings = load_settings(slack_api_url=url + "/api/", slack_bot_token=token)
        SlackAdmin(url + "/api/", token).rate_limit(slack.RATE_LIMIT_RETRIES + 1, retry_after=0)
        with pytest.raises(SlackApiError) as info:
            slack.notify_incident(incident, channel="#sec-alerts", settings=settings)
    assert info.value.response["error"] == "ratelimited"


def test_send_webhook_and_its_errors(channel, client):
    slack.send_webhook("CloudTrail stopped", client=slack.WebhookClient(channel["webhook_url"]))
    [message] = client.conversations_history(channel=channel["id"])["messages"]
    assert message["text"] == "CloudTrail stopped"
    broken = slack.WebhookClient(channel["webhook_url"] + "x")
    with pytest.raises(slack.SlackError, match="404: no_service"):
        slack.send_webhook("x", client=broken)


def test_unknown_channel_is_a_clear_error(incident):
    with pytest.raises(slack.SlackError, match="#no-such-channel not found"):
        slack.notify_incident(incident, channel="#no-such-channel")


def test_missing_token_names_the_setting(monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("LAB_HOME", "/nonexistent")
    with pytest.raises(Exception, match="SLACK_BOT_TOKEN"):
        slack.web_client(load_settings())


# -- signatures (no service needed, but the world's secret is the real one) ----------------------
def _signed(secret: str, body: str, ts: str) -> dict:
    sig = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={sig}"}


BODY = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions"})})


def test_verify_request_accepts_a_fresh_signature(slack_settings):
    secret = slack_settings["SLACK_SIGNING_SECRET"]
    headers = _signed(secret, BODY, str(int(time.time())))
    assert slack.verify_request(headers, BODY.encode())
    assert slack.verify_request(headers, BODY)  # str bodies too


def _tampered(case: str, secret: str) -> tuple[dict, str]:
    now = int(time.time())
    good = _signed(secret, BODY, str(now))
    return {
        "forged": (_signed("wrong-secret", BODY, str(now)), BODY),
        "body-changed": (good, BODY + "x"),
        "stale": (_signed(secret, BODY, str(now - 301)), BODY),
        "future": (_signed(secret, BODY, str(now + 301)), BODY),
        "non-numeric-timestamp": ({**good, "X-Slack-Request-Timestamp": "yesterday"}, BODY),
        "unsigned": ({}, BODY),
        "no-signature": ({"X-Slack-Request-Timestamp": str(now)}, BODY),
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "body-changed",
        "stale",
        "future",
        "non-numeric-timestamp",
        "unsigned",
        "no-signature",
    ],
)
def test_verify_request_rejects(slack_settings, case):
    headers, body = _tampered(case, slack_settings["SLACK_SIGNING_SECRET"])
    assert slack.verify_request(headers, body.encode()) is False


def test_receiver_rejects_forged_requests(receiver):
    session = requests.Session()
    session.trust_env = False
    forged = _signed("not-the-secret", BODY, str(int(time.time())))
    resp = session.post(receiver.url, data=BODY, headers=forged, timeout=5)
    assert resp.status_code == 401
    assert receiver.rejected == 1
    with pytest.raises(TimeoutError):
        receiver.wait(timeout=0.2)
