"""Button clicks become signed ``block_actions`` requests; ``response_url`` answers them."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from labstack.world import free_port

pytestmark = pytest.mark.stack

BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Revoke ingress?"}},
    {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {
                "type": "button",
                "action_id": "approve_remediation",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "SEC-1",
                "style": "primary",
            },
            {
                "type": "button",
                "action_id": "deny_remediation",
                "text": {"type": "plain_text", "text": "Deny"},
                "value": "SEC-1",
            },
        ],
    },
]


@pytest.fixture
def posted(client, channel) -> dict:
    return client.chat_postMessage(channel=channel["id"], text="Approval needed", blocks=BUTTONS)


def test_click_sends_a_signed_block_actions_payload(admin, posted, receiver, slack_settings):
    record = admin.click(
        posted["channel"], posted["ts"], "approve_remediation", request_url=receiver.url
    )
    assert record["delivered"] and record["status"] == 200
    click = receiver.wait(timeout=10)[-1]
    assert click.action_id == "approve_remediation" and click.approved
    assert click.value == "SEC-1"
    assert click.user == "alice"
    assert click.channel == posted["channel"]
    assert click.message_ts == posted["ts"]
    payload = click.payload
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["block_id"] == "approval"
    assert payload["message"]["blocks"] == BUTTONS
    assert payload["response_url"].startswith("http://127.0.0.1:")
    assert receiver.rejected == 0


def test_signature_is_over_the_exact_form_body(admin, posted, slack_settings):
    """Check the wire format with SignatureVerifier directly, outside the helpers."""
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            seen["headers"] = dict(self.headers.items())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/actions"
        admin.click(
            posted["channel"], posted["ts"], "deny_remediation", user="bob", request_url=url
        )
    finally:
        server.shutdown()
        server.server_close()
    verifier = SignatureVerifier(slack_settings["SLACK_SIGNING_SECRET"])
    assert verifier.is_valid_request(seen["body"], seen["headers"])
    assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen["headers"]["X-Slack-Signature"].startswith("v0=")
    form = urllib.parse.parse_qs(seen["body"].decode())
    payload = json.loads(form["payload"][0])
    assert payload["user"]["username"] == "bob"
    assert payload["actions"][0]["action_id"] == "deny_remediation"


def test_response_url_replaces_the_original(admin, client, posted, receiver):
    admin.click(posted["channel"], posted["ts"], "approve_remediation", request_url=receiver.url)
    click = receiver.wait(timeout=10)[-1]
    resp = WebhookClient(click.response_url).send(text="Approved by alice", replace_original=True)
    assert (resp.status_code, resp.body) == (200, "ok")
    [message] = client.conversations_history(channel=posted["channel"])["messages"]
    assert message["text"] == "Approved by alice"
    assert message["ts"] == posted["ts"]
    assert "blocks" not in message  # the whole message is replaced, buttons included


def test_response_url_ephemeral_and_in_channel(admin, client, posted, receiver):
    admin.click(posted["channel"], posted["ts"], "approve_remediation", request_url=receiver.url)
    hook = WebhookClient(receiver.wait(timeout=10)[-1].response_url)
    assert hook.send(text="only alice sees this").body == "ok"
    assert hook.send(text="everyone sees this", response_type="in_channel").body == "ok"
    texts = [m["text"] for m in client.conversations_history(channel=posted["channel"])["messages"]]
    assert texts == ["everyone sees this", "Approval needed"]


def test_response_url_delete_original(admin, client, posted, receiver):
    admin.click(posted["channel"], posted["ts"], "approve_remediation", request_url=receiver.url)
    hook = WebhookClient(receiver.wait(timeout=10)[-1].response_url)
    assert hook.send_dict({"delete_original": True}).body == "ok"
    assert client.conversations_history(channel=posted["channel"])["messages"] == []


def test_unknown_response_url_is_no_service(posted, slack_settings):
    root = slack_settings["SLACK_API_URL"].removesuffix("/api/")
    resp = WebhookClient(f"{root}/actions/T0LAB0001/1/forged").send(text="x")
    assert (resp.status_code, resp.body) == (404, "no_service")


def test_configured_request_url_is_used(admin, posted, receiver):
    admin.set_request_url(receiver.url)
    try:
        record = admin.click(posted["channel"], posted["ts"], "approve_remediation")
    finally:
        admin.set_request_url(None)
    assert record["request_url"] == receiver.url
    assert receiver.wait(timeout=10)[-1].approved


def test_receiver_down_is_recorded_not_raised(admin, posted):
    url = f"http://127.0.0.1:{free_port()}/slack/actions"
    record = admin.click(posted["channel"], posted["ts"], "approve_remediation", request_url=url)
    assert record["delivered"] is False
    assert "ConnectionError" in record["error"]


def test_unknown_button_or_message_is_404(admin, posted):
    with pytest.raises(requests.HTTPError) as info:
        admin.click(posted["channel"], posted["ts"], "no_such_action")
    assert info.value.response.status_code == 404
    with pytest.raises(requests.HTTPError):
        admin.click(posted["channel"], "1.000001", "approve_remediation")


def test_admin_api_needs_the_bot_token(slack_settings):
    root = slack_settings["SLACK_API_URL"].removesuffix("/api/")
    session = requests.Session()
    session.trust_env = False
    resp = session.put(f"{root}/_lab/faults", json={"rate_limit": 5}, timeout=5)
    assert resp.status_code == 401
