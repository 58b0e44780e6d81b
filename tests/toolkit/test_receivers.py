"""helpers.receivers: one receiver; the Jira and Slack variants refuse bad signatures with 401."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
import requests

from helpers.receivers import JiraWebhookReceiver, Receiver, SlackActionReceiver, jira_event
from helpers.runtime.serve import HEALTH_PATH


def _post(url: str, body: bytes, headers: dict | None = None) -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # loopback only
    with session:
        return session.post(url, data=body, headers=headers or {}, timeout=10)


def test_receiver_keeps_posts_and_waits_for_matching_ones():
    with Receiver(status=202) as receiver:
        assert _post(receiver.url, b'{"n": 1}').status_code == 202
        assert _post(receiver.url + "/x?y=1", b"not json").status_code == 202
        assert receiver.wait(2) == [{"n": 1}, {"_raw": "not json"}]
        assert receiver.wait(where=lambda p: "n" in p) == [{"n": 1}]
        assert receiver.received[1].path == "/hook/x?y=1"
        with pytest.raises(TimeoutError, match="2 of 3"):
            receiver.wait(3, timeout=0.2)
        assert requests.get(receiver.url.rsplit("/", 1)[0] + HEALTH_PATH, timeout=5).ok


def _hub(secret: str, body: bytes) -> dict:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature": "sha256=00"}, _hub("wrong", b"{}")])
def test_jira_receiver_refuses_forged_or_missing_signatures(headers):
    with JiraWebhookReceiver(secret="s3cret") as receiver:
        assert _post(receiver.url, b"{}", headers).status_code == 401
        assert receiver.rejected == 1 and receiver.received == []


def test_jira_receiver_accepts_signed_deliveries():
    body = json.dumps({"webhookEvent": "comment_created", "comment": {"body": "hi"}}).encode()
    with JiraWebhookReceiver(secret="s3cret") as receiver:
        assert _post(receiver.url, body, _hub("s3cret", body)).status_code == 204
        assert _post(receiver.url, b"{nope", _hub("s3cret", b"{nope")).status_code == 400
        [payload] = receiver.wait(where=jira_event("comment_created"))
    assert payload["comment"]["body"] == "hi" and receiver.rejected == 0
    assert len(JiraWebhookReceiver().secret) > 20  # generated when not given


CLICK = {
    "type": "block_actions",
    "user": {"id": "U1", "username": "alice"},
    "channel": {"id": "C1"},
    "container": {"message_ts": "1.2"},
    "actions": [{"action_id": "approve_remediation", "value": "{}"}],
}


def _slack(secret: str, body: bytes, stamp: int | None = None) -> dict:
    stamp = int(time.time()) if stamp is None else stamp
    base = f"v0:{stamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


BODY = urllib.parse.urlencode({"payload": json.dumps(CLICK)}).encode()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _slack("not-the-secret", BODY),
        _slack("signing", BODY, stamp=int(time.time()) - 3600),  # stale
    ],
)
def test_slack_receiver_refuses_forged_stale_or_missing_signatures(headers):
    with SlackActionReceiver(signing_secret="signing") as receiver:
        assert _post(receiver.url, BODY, headers).status_code == 401
        assert receiver.rejected == 1 and receiver.received == []


def test_slack_receiver_records_verified_clicks():
    with SlackActionReceiver(signing_secret="signing") as receiver:
        assert _post(receiver.url, BODY, _slack("signing", BODY)).status_code == 200
        [click] = receiver.wait(timeout=10)
    assert click.approved and click.user == "alice" and click.channel == "C1"
