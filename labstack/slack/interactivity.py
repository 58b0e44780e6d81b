"""Button clicks and slash commands: the signed requests Slack sends to an app's Request URLs.

Here the stand-in acts as a *client* of the lab: it builds the payload Slack would build, signs
the form body with the app's signing secret (v0 scheme) and POSTs it, the way
``slack_sdk.signature.SignatureVerifier`` expects to receive it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse

import requests

from labstack.slack.store import BOT, TEAM

#: Slack gives the app 3 seconds to acknowledge an interaction.
ACK_TIMEOUT = 3.0


class ButtonNotFound(LookupError):
    """The message has no button with that action id."""


def find_button(message: dict, action_id: str) -> tuple[str | None, dict]:
    """The (block_id, button element) for ``action_id`` in a message's blocks."""
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block.get("block_id"), element
    raise ButtonNotFound(f"message {message.get('ts')} has no button with action_id {action_id!r}")


def block_actions_payload(
    channel: dict, message: dict, action_id: str, user: dict, response_url: str
) -> dict:
    """The ``block_actions`` payload for a click on ``action_id`` by ``user``."""
    block_id, button = find_button(message, action_id)
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": button.get("text"),
        "value": button.get("value"),
        "action_ts": f"{time.time():.6f}",
    }
    if button.get("style"):
        action["style"] = button["style"]
    shown = {k: v for k, v in message.items() if k not in ("metadata", "ephemeral_to")}
    return {
        "type": "block_actions",
        "user": {
            "id": user["id"],
            "username": user["name"],
            "name": user["name"],
            "team_id": TEAM["id"],
        },
        "api_app_id": BOT["app_id"],
        "token": "lab-verification-token",
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM["id"], "domain": TEAM["domain"]},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel["id"],
            "is_ephemeral": False,
        },
        "channel": {"id": channel["id"], "name": channel["name"]},
        "message": shown,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def command_form(
    channel: dict, user: dict, command: str, text: str, response_url: str
) -> dict[str, str]:
    """The form fields of a slash command (``/secbot status SEC-1``), as Slack sends them."""
    return {
        "token": "lab-verification-token",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel["id"],
        "channel_name": channel["name"],
        "user_id": user["id"],
        "user_name": user["name"],
        "command": command,
        "text": text,
        "api_app_id": BOT["app_id"],
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _trigger_id(),
    }


def _trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**6)}.{secrets.token_hex(8)}"


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 signature of a request body."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def deliver(request_url: str, payload: dict, signing_secret: str) -> dict:
    """POST a signed interaction to the Request URL; returns what happened (never raises)."""
    result, _ = post_signed(request_url, {"payload": json.dumps(payload)}, signing_secret)
    return result


def post_signed(
    request_url: str, fields: dict[str, str], signing_secret: str
) -> tuple[dict, requests.Response | None]:
    """POST a signed form; returns what happened and the response, if any (never raises)."""
    body = urllib.parse.urlencode(fields)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(signing_secret, timestamp, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    session = requests.Session()
    session.trust_env = False  # the lab's receivers are local; no proxy may intercept them
    try:
        resp = session.post(request_url, data=body, headers=headers, timeout=ACK_TIMEOUT)
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
        return {"delivered": False, "status": None, "error": error}, None
    finally:
        session.close()
    ok = 200 <= resp.status_code < 300
    return {
        "delivered": ok,
        "status": resp.status_code,
        "error": None if ok else f"request URL answered HTTP {resp.status_code}",
    }, resp
