"""Incoming webhooks (one secret URL per channel) and interaction ``response_url`` answers.

Both answer in plain text as Slack does: ``ok`` with 200, or an error code with a 4xx status;
``slack_sdk.WebhookClient`` never raises, so callers check ``status_code == 200 and body == "ok"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse

from labstack.slack.store import TEAM, Store
from labstack.slack.webapi import ApiError, arguments, message_fields

WEBHOOK_AUTHOR = {"subtype": "bot_message", "bot_id": "B0LABHOOK", "username": "incoming-webhook"}
MAX_ATTACHMENTS = 100


class WebhookError(Exception):
    """A plain-text Slack webhook error: ``status`` and ``code`` (e.g. 400 ``no_text``)."""

    def __init__(self, status: int, code: str):
        super().__init__(code)
        self.status = status
        self.code = code


def webhook_path(bot_token: str, channel_id: str) -> str:
    """The secret path of a channel's incoming webhook, derived from the workspace's token.

    >>> webhook_path("lab-bot-token", "C0LAB00001").startswith("/services/T0LAB0001/B")
    True
    """
    key = hmac.new(bot_token.encode(), f"webhook:{channel_id}".encode(), hashlib.sha256)
    return f"/services/{TEAM['id']}/B{channel_id[1:]}/{key.hexdigest()[:24]}"


def parse_body(raw: bytes, content_type: str) -> dict:
    """A webhook body: JSON, or the classic form field ``payload=<json>``."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(raw.decode("utf-8"))
            raw = form.get("payload", [""])[0].encode()
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return arguments(body)
    except (ValueError, UnicodeDecodeError, RecursionError, ApiError) as exc:
        raise WebhookError(400, "invalid_payload") from exc


def _fields(body: dict, require_content: bool = True) -> dict:
    try:
        fields = message_fields(body, require_content=require_content)
    except ApiError as exc:
        raise WebhookError(400, exc.code) from exc
    if len(fields.get("attachments") or []) > MAX_ATTACHMENTS:
        raise WebhookError(400, "too_many_attachments")
    return fields


def incoming(store: Store, channel: dict, body: dict) -> dict:
    """Post a webhook message to ``channel``; ``thread_ts`` makes it a reply."""
    if channel.get("is_archived"):
        raise WebhookError(410, "channel_is_archived")
    fields = _fields(body)
    thread_ts = body.get("thread_ts") or None
    if thread_ts and store.find(channel["id"], str(thread_ts)) is None:
        thread_ts = None  # Slack posts to the channel when the thread is unknown
    return store.post(channel["id"], {**WEBHOOK_AUTHOR, **fields}, thread_ts=thread_ts)


def respond(store: Store, target: dict, body: dict, bot: dict) -> None:
    """Answer to a ``response_url``: replace or delete the original, or post a new message."""
    channel_id, ts, user = target["channel"], target["ts"], target["user"]
    if body.get("delete_original") in (True, "true"):
        store.delete(channel_id, ts)
        return
    if body.get("replace_original") in (True, "true"):
        fields = _fields(body)
        # Unlike chat.update, replace_original replaces the whole message (its buttons too).
        if store.update(channel_id, ts, fields, editor=bot["user_id"], replace=True) is None:
            raise WebhookError(404, "message_not_found")
        return
    fields = _fields(body)
    author = {"user": bot["user_id"], "bot_id": bot["bot_id"], "app_id": bot["app_id"]}
    if body.get("response_type") != "in_channel":
        author["ephemeral_to"] = user
    thread_ts = body.get("thread_ts") or None
    if thread_ts and store.find(channel_id, str(thread_ts)) is None:
        thread_ts = None
    store.post(channel_id, {**author, **fields}, thread_ts=thread_ts)
