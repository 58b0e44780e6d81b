"""The Web API methods the lab uses, with Slack's argument rules and error codes.

Each method takes the parsed arguments and returns the JSON body. Errors are ``ApiError(code)``,
which the app turns into ``{"ok": false, "error": code}`` with HTTP 200, as Slack does.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from labstack.slack import blocks as block_kit
from labstack.slack.store import BOT, TEAM, Store

MAX_TEXT = 40_000
#: The arguments that carry JSON (an array or object in a JSON body, a JSON string in a form).
JSON_ARGS = ("blocks", "attachments", "metadata")
DEFAULT_LIMIT = 100
MAX_LIMIT = 999


class ApiError(Exception):
    """A Slack error code, e.g. ``channel_not_found``; ``errors`` say what exactly, as Slack's
    ``invalid_blocks`` answer does."""

    def __init__(self, code: str, errors: list[str] | None = None):
        super().__init__(code)
        self.code = code
        self.errors = errors or []

    def body(self) -> dict:
        body: dict = {"ok": False, "error": self.code}
        if self.errors:
            body["errors"] = self.errors
            body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in self.errors]}
        return body


METHODS: dict[str, Callable[[Store, dict, str], dict]] = {}


def method(name: str):
    def add(fn):
        if name in METHODS:
            raise ValueError(f"Web API method {name} is defined twice")
        METHODS[name] = fn
        return fn

    return add


# -- argument helpers ------------------------------------------------------------------------------
def arguments(raw: dict) -> dict:
    """A method's arguments as Slack reads them: strings, with JSON ``true``/``false`` and numbers
    spelled as a form would; only the JSON arguments may be arrays or objects.

    >>> arguments({"channel": "C1", "limit": 5, "inclusive": True, "blocks": []})
    {'channel': 'C1', 'limit': '5', 'inclusive': 'true', 'blocks': []}
    >>> arguments({"oldest": [1]})
    Traceback (most recent call last):
    ...
    labstack.slack.webapi.ApiError: invalid_arguments
    """
    args = {}
    for name, value in raw.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif isinstance(value, list | dict) and name not in JSON_ARGS:
            raise ApiError("invalid_arguments")
        if value is not None:
            args[name] = value
    return args


def _json_arg(args: dict, name: str):
    """Blocks, attachments and metadata arrive as JSON (chat.postMessage) or as JSON strings."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value) if value else None
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise ApiError(f"invalid_{name}") from exc
    return value


def _flag(args: dict, name: str) -> bool:
    return str(args.get(name, "")).lower() in ("1", "true")


def _int(args: dict, name: str, default: int) -> int:
    try:
        return int(args.get(name, default))
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_arguments") from exc


def _ts(args: dict, name: str, default: float) -> float:
    try:
        return float(args.get(name) or default)
    except ValueError as exc:
        raise ApiError(f"invalid_ts_{name}") from exc


def message_fields(args: dict, require_content: bool = True) -> dict:
    """text, blocks, attachments and metadata, validated as Slack validates them."""
    text = args.get("text")
    blocks = _json_arg(args, "blocks")
    attachments = _json_arg(args, "attachments")
    metadata = _json_arg(args, "metadata")
    if blocks is not None and (found := block_kit.problems(blocks)):
        raise ApiError("invalid_blocks", found)
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if metadata is not None and not (
        isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
    ):
        raise ApiError("invalid_metadata_format")
    if require_content and not (text or blocks or attachments):
        raise ApiError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise ApiError("msg_too_long")
    return {
        "text": "" if text is None and require_content else text,
        "blocks": blocks or None,
        "attachments": attachments or None,
        "metadata": metadata,
    }


def _channel(store: Store, args: dict, by_name: bool = False) -> dict:
    """The channel named by ``channel``; conversations.* accept ids only, as Slack does."""
    ref = args.get("channel")
    if not ref:
        raise ApiError("channel_not_found")
    channel = store.channel(ref)
    if channel is None or (not by_name and channel["id"] != ref):
        raise ApiError("channel_not_found")
    if channel.get("is_archived"):
        raise ApiError("is_archived")
    return channel


def _public(message: dict, with_metadata: bool) -> dict:
    message = {k: v for k, v in message.items() if k != "ephemeral_to"}
    if not with_metadata:
        message.pop("metadata", None)
    return message


def _page(messages: list[dict], args: dict, with_metadata: bool) -> dict:
    limit = min(max(_int(args, "limit", DEFAULT_LIMIT), 1), MAX_LIMIT)
    start = _int(args, "cursor", 0) if str(args.get("cursor", "")).isdigit() else 0
    page = messages[start : start + limit]
    more = start + limit < len(messages)
    return {
        "ok": True,
        "messages": [_public(m, with_metadata) for m in page],
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _bot_author() -> dict:
    return {"user": BOT["user_id"], "bot_id": BOT["bot_id"], "app_id": BOT["app_id"]}


# -- methods -------------------------------------------------------------------------------------
@method("api.test")
def api_test(store: Store, args: dict, base_url: str) -> dict:
    return {"ok": True, "args": {k: v for k, v in args.items() if k != "token"}}


@method("auth.test")
def auth_test(store: Store, args: dict, base_url: str) -> dict:
    return {
        "ok": True,
        "url": base_url,
        "team": TEAM["name"],
        "user": BOT["name"],
        "team_id": TEAM["id"],
        "user_id": BOT["user_id"],
        "bot_id": BOT["bot_id"],
        "is_enterprise_install": False,
    }


@method("chat.postMessage")
def chat_post_message(store: Store, args: dict, base_url: str) -> dict:
    channel = _channel(store, args, by_name=True)
    fields = message_fields(args)
    thread_ts = args.get("thread_ts") or None
    if thread_ts:
        parent = store.find(channel["id"], str(thread_ts))
        if parent is None or parent.get("thread_ts", parent["ts"]) != parent["ts"]:
            raise ApiError("thread_not_found")
    message = store.post(channel["id"], {**_bot_author(), **fields}, thread_ts=thread_ts)
    return {
        "ok": True,
        "channel": channel["id"],
        "ts": message["ts"],
        "message": _public(message, with_metadata=True),
    }


@method("chat.update")
def chat_update(store: Store, args: dict, base_url: str) -> dict:
    channel = _channel(store, args, by_name=False)
    ts = str(args.get("ts") or "")
    current = store.find(channel["id"], ts)
    if current is None:
        raise ApiError("message_not_found")
    if current.get("bot_id") != BOT["bot_id"] or current.get("subtype") == "bot_message":
        raise ApiError("cant_update_message")
    fields = message_fields(args, require_content=False)
    if not any(fields.values()):
        raise ApiError("no_text")
    message = store.update(channel["id"], ts, fields, editor=BOT["user_id"])
    return {
        "ok": True,
        "channel": channel["id"],
        "ts": ts,
        "text": message.get("text", ""),
        "message": _public(message, with_metadata=True),
    }


@method("conversations.list")
def conversations_list(store: Store, args: dict, base_url: str) -> dict:
    skip_archived = _flag(args, "exclude_archived")
    channels = [c for c in store.channels() if not (c["is_archived"] and skip_archived)]
    return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}


@method("conversations.history")
def conversations_history(store: Store, args: dict, base_url: str) -> dict:
    channel = _channel(store, args)
    inclusive = _flag(args, "inclusive")
    latest = _ts(args, "latest", float("inf"))
    oldest = _ts(args, "oldest", 0.0)

    def inside(m: dict) -> bool:
        ts = float(m["ts"])
        if inclusive:
            return oldest <= ts <= latest
        return oldest < ts < latest

    messages = [m for m in store.history(channel["id"]) if inside(m)]
    return _page(messages, args, _flag(args, "include_all_metadata"))


@method("conversations.replies")
def conversations_replies(store: Store, args: dict, base_url: str) -> dict:
    channel = _channel(store, args)
    ts = str(args.get("ts") or "")
    thread = store.replies(channel["id"], ts)
    if not thread:
        raise ApiError("thread_not_found")
    return _page(thread, args, _flag(args, "include_all_metadata"))
