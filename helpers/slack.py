"""Incident notifications, threaded follow-ups and approvals in Slack, through ``slack_sdk`` only.

The same code talks to the local world's workspace and to a real one; settings decide
(``SLACK_API_URL`` unset means slack.com). The bot needs the scopes ``chat:write``,
``channels:read`` and ``channels:history``; interaction requests arrive at the app's Request URL
and are checked with :func:`verify_request`.

One incident has one thread. Its parent message carries the incident's dedup key in Slack message
metadata, so a later alert for the same key (even from another process, after a restart) finds the
thread in the channel's history and replies there instead of posting a new message. Threads of one
process are serialised per key; two processes racing on a brand-new incident could still open two.

>>> from helpers import slack
>>> note = slack.notify_incident(incident, ticket)                    # doctest: +SKIP
>>> slack.follow_up(incident, "Security group ingress revoked")     # doctest: +SKIP
>>> slack.request_approval(incident, "disable access key AKIA...")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient

from helpers.config import Settings, get_settings
from helpers.incident import Incident, as_incident, dedup_key
from helpers.incident import field as _field
from helpers.runtime.locks import KeyLocks, process_locks

__all__ = [
    "ACTION_APPROVE",
    "ACTION_DENY",
    "Interaction",
    "Notification",
    "SlackError",
    "click_button",
    "dedup_key",
    "find_approval",
    "find_thread",
    "follow_up",
    "incident_blocks",
    "notify_incident",
    "parse_interaction",
    "request_approval",
    "resolve_channel",
    "respond",
    "send_webhook",
    "verify_request",
    "web_client",
    "webhook_client",
]

#: action_ids of the approval buttons; the automation server dispatches on them.
ACTION_APPROVE = "approve_remediation"
ACTION_DENY = "deny_remediation"
#: Message metadata event type that marks an incident's parent message.
EVENT_TYPE = "security_incident"
#: How many recent channel messages to search for an incident's thread.
HISTORY_SCAN_LIMIT = 1000
#: Retries after a 429 (each waits Retry-After seconds); then SlackApiError("ratelimited").
RATE_LIMIT_RETRIES = 3


class SlackError(RuntimeError):
    """Slack refused or could not take a request; the message says what it answered."""


@dataclass(frozen=True)
class Notification:
    """Where an incident message went: its channel id, its ``ts``, and its thread's ``ts``."""

    channel: str
    ts: str
    thread_ts: str
    new_thread: bool


# -- clients -------------------------------------------------------------------------------------
def _retry_handlers() -> list:
    return [
        ConnectionErrorRetryHandler(),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def web_client(settings: Settings | None = None) -> WebClient:
    """A ``WebClient`` for the bot, retrying connection errors and 429s.

    >>> web_client().auth_test()["ok"]                                # doctest: +SKIP
    True
    """
    settings = settings or get_settings()
    token = settings.require("slack_bot_token", "the Slack bot token")
    extra = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    return WebClient(token=token, retry_handlers=_retry_handlers(), **extra)


def webhook_client(settings: Settings | None = None) -> WebhookClient:
    """A ``WebhookClient`` for the channel's incoming webhook (``SLACK_WEBHOOK_URL``)."""
    settings = settings or get_settings()
    url = settings.require("slack_webhook_url", "the channel's incoming webhook URL")
    return WebhookClient(url, retry_handlers=_retry_handlers())


def send_webhook(
    text: str, blocks: list[dict] | None = None, client: WebhookClient | None = None
) -> None:
    """Post through the incoming webhook; raises ``SlackError`` unless Slack answered ``ok``.

    >>> send_webhook("CloudTrail logging stopped in 123456789012")    # doctest: +SKIP
    """
    client = client or webhook_client()
    resp = client.send(text=text, blocks=blocks)
    if resp.status_code != 200 or resp.body != "ok":
        raise SlackError(f"the webhook answered HTTP {resp.status_code}: {resp.body}")


# -- incidents -----------------------------------------------------------------------------------
def _ticket(ticket: Any, settings: Settings) -> tuple[str | None, str | None]:
    """(key, url) of a ticket given as a key, a mapping or a ``jira`` Issue."""
    if ticket is None:
        return None, None
    if isinstance(ticket, str):
        key, url = ticket, None
    else:
        key = _field(ticket, "key")
        url = _field(ticket, "url", "permalink")
        if callable(url):
            url = url()
    if not url and key and settings.jira_url:
        url = f"{settings.jira_url.rstrip('/')}/browse/{key}"
    return (str(key) if key else None), url


def _summary(incident: Incident) -> str:
    return f"[{incident.severity.value}] {escape(incident.summary)}"


def escape(text: Any) -> str:
    """Text made safe for Slack's ``mrkdwn``: ``&``, ``<`` and ``>`` escaped, as Slack asks.

    >>> escape("</script><@U1>&")
    '&lt;/script&gt;&lt;@U1&gt;&amp;'
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _known(value: Any) -> str:
    return "unknown" if value in (None, "", "-") else escape(value)


#: Slack's limits on Block Kit text (Block Kit reference): a section's text, a field's text.
SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000


def clip(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (an escape such as ``&amp;`` is
    never cut in half), so a long incident cannot make Slack refuse the whole message.

    >>> clip("a &amp; b", 6)
    'a …'
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut + "…"


def incident_blocks(incident: Any, ticket: Any = None, settings: Settings | None = None) -> list:
    """Block Kit for an incident: severity, detection, actor, resource, account owner, ticket.

    ``incident`` is an :class:`~helpers.incident.Incident` or a mapping of its fields; the
    severity's emoji is :attr:`helpers.incident.Severity.emoji`.

    >>> blocks = incident_blocks({"detection": "guardduty-disabled", "severity": "info"},
    ...                          settings=Settings(_env_file=None))
    >>> blocks[1]["fields"][0]["text"]
    '*Severity*\\n:white_circle: informational'
    """
    settings = settings or get_settings()
    incident = as_incident(incident)
    key, url = _ticket(ticket, settings)
    ticket_text = (f"<{url}|{key}>" if url else key) if key else "_not filed yet_"
    owner = _known(incident.enrichment.get("account_owner"))
    fields = {
        "Severity": f"{incident.severity.emoji} {incident.severity.value}",
        "Detection": f"`{_known(incident.detection)}`",
        "Actor": _known(incident.actor),
        "Resource": f"`{_known(incident.resource)}`",
        "Account owner": f"{owner} ({_known(incident.account)})",
        "Ticket": ticket_text,
    }
    context = [f"dedup key `{escape(incident.dedup_key)}`"]
    for label, value in (("source IP", incident.source_ip), ("region", incident.region)):
        if value:
            context.append(f"{label} {escape(value)}")
    if incident.event_time:
        context.append(escape(incident.event_time))
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": incident.title[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": clip(f"*{k}*\n{v}", FIELD_TEXT_LIMIT)}
                for k, v in fields.items()
            ],
        },
    ]
    if incident.details:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": clip(escape(incident.details))}}
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(" · ".join(context))}]}
    )
    return blocks


def resolve_channel(client: WebClient, channel: str) -> str:
    """A channel id for ``#name``, ``name`` or an id (ids are returned as they are)."""
    name = channel.removeprefix("#")
    if name[:1] in ("C", "G") and name.isupper() and name.isalnum():
        return name
    cursor = None
    while True:
        resp = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for found in resp["channels"]:
            if found["name"] == name:
                return found["id"]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            raise SlackError(f"channel {channel} not found (is the bot invited to it?)")


def find_thread(
    client: WebClient, channel_id: str, key: str, oldest: float | None = None
) -> str | None:
    """The ``ts`` of the parent message of the incident with dedup key ``key``, if any.

    ``oldest`` (epoch seconds) limits the search to messages since then: when the incident
    began, say, so a busy channel's whole history is not read for every new incident.
    """
    cursor, seen = None, 0
    window = {"oldest": f"{oldest:.6f}"} if oldest else {}
    while seen < HISTORY_SCAN_LIMIT:
        resp = client.conversations_history(
            channel=channel_id, include_all_metadata=True, limit=200, cursor=cursor, **window
        )
        for message in resp["messages"]:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == EVENT_TYPE and payload.get("dedup_key") == key:
                return message["ts"]
        seen += len(resp["messages"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not resp.get("has_more") or not cursor:
            return None
    return None


def _context(client, channel, settings) -> tuple[WebClient, str, Settings]:
    settings = settings or get_settings()
    client = client or web_client(settings)
    return client, resolve_channel(client, channel or settings.slack_channel), settings


def notify_incident(
    incident: Any,
    ticket: Any = None,
    *,
    client: WebClient | None = None,
    channel: str | None = None,
    settings: Settings | None = None,
    locks: KeyLocks | None = None,
    oldest: float | None = None,
) -> Notification:
    """Tell the channel about an incident: a new thread, or a reply in its existing thread.

    ``oldest`` bounds the search for the existing thread (see :func:`find_thread`).

    ``incident`` is an :class:`~helpers.incident.Incident` or a mapping of its fields (a
    result row); ``ticket`` is a Jira key, a mapping with ``key``/``url``, a
    ``helpers.jira.Ticket`` or a ``jira`` Issue. Calls for one incident and channel are
    serialised through ``locks`` (default: one set per process), so racing alerts share a thread.

    >>> note = notify_incident({"detection": "s3_bucket_public", "severity": "high",
    ...                         "resource": "payroll-exports", "account": "123456789012"},
    ...                        "SEC-1")                               # doctest: +SKIP
    >>> note.new_thread                                               # doctest: +SKIP
    True
    """
    client, channel_id, settings = _context(client, channel, settings)
    incident = as_incident(incident)
    with _hold(locks, channel_id, incident):
        return _notify(client, channel_id, incident, ticket, settings, oldest)


def _notify(
    client, channel_id, incident: Incident, ticket, settings, oldest: float | None = None
) -> Notification:
    key = incident.dedup_key
    blocks = incident_blocks(incident, ticket, settings)
    thread = find_thread(client, channel_id, key, oldest)
    if thread:
        resp = client.chat_postMessage(
            channel=channel_id,
            thread_ts=thread,
            text=f"Seen again: {_summary(incident)}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Seen again*"}},
                *blocks[1:],
            ],
        )
        return Notification(channel_id, resp["ts"], thread, new_thread=False)
    ticket_key, _ = _ticket(ticket, settings)
    metadata = {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "dedup_key": key,
            "detection": incident.detection,
            "ticket": ticket_key or "",
        },
    }
    resp = client.chat_postMessage(
        channel=channel_id, text=_summary(incident), blocks=blocks, metadata=metadata
    )
    return Notification(channel_id, resp["ts"], resp["ts"], new_thread=True)


def _hold(locks: KeyLocks | None, channel_id: str, incident: Incident):
    """The incident's lock in this channel (one thread per incident and channel)."""
    return (process_locks if locks is None else locks).hold(
        f"slack:{channel_id}:{incident.dedup_key}"
    )


def _thread_for(incident: Incident, client, channel_id, settings, locks) -> str:
    with _hold(locks, channel_id, incident):
        thread = find_thread(client, channel_id, incident.dedup_key)
        if thread is None:  # never lose a follow-up: open the incident's thread first
            thread = _notify(client, channel_id, incident, None, settings).thread_ts
    return thread


def follow_up(
    incident: Any,
    text: str,
    *,
    client: WebClient | None = None,
    channel: str | None = None,
    settings: Settings | None = None,
    locks: KeyLocks | None = None,
) -> Notification:
    """Reply in the incident's thread (opening it first if there is none yet).

    >>> follow_up(incident, "Public access blocked on payroll-exports")  # doctest: +SKIP
    """
    client, channel_id, settings = _context(client, channel, settings)
    thread = _thread_for(as_incident(incident), client, channel_id, settings, locks)
    resp = client.chat_postMessage(channel=channel_id, thread_ts=thread, text=text)
    return Notification(channel_id, resp["ts"], thread, new_thread=False)


def request_approval(
    incident: Any,
    action: str,
    *,
    ticket: Any = None,
    reason: str | None = None,
    client: WebClient | None = None,
    channel: str | None = None,
    settings: Settings | None = None,
    locks: KeyLocks | None = None,
) -> Notification:
    """Ask for approval of ``action`` in the incident's thread, with Approve and Deny buttons.

    A click arrives at the Request URL as a signed ``block_actions`` request whose action
    ``value`` is JSON with the dedup key, the action and the ticket key.

    >>> request_approval(incident, "revoke 0.0.0.0/0:22 on sg-0123")  # doctest: +SKIP
    """
    client, channel_id, settings = _context(client, channel, settings)
    incident = as_incident(incident)
    thread = _thread_for(incident, client, channel_id, settings, locks)
    ticket_key, ticket_url = _ticket(ticket, settings)
    # A button's value holds at most 2000 characters: the action is cut, the key never is.
    short = action if len(action) <= 1000 else action[:999] + "…"
    value = json.dumps({"dedup_key": incident.dedup_key, "action": short, "ticket": ticket_key})
    text = f"*Approval needed:* {action}"
    if reason:
        text += f"\n{reason}"
    if ticket_key:
        text += (
            f"\nTicket: <{ticket_url}|{ticket_key}>" if ticket_url else f"\nTicket: {ticket_key}"
        )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}},
        {
            "type": "actions",
            "block_id": "approval",
            "elements": [
                _button("Approve", ACTION_APPROVE, value, "primary"),
                _button("Deny", ACTION_DENY, value, "danger"),
            ],
        },
    ]
    resp = client.chat_postMessage(
        channel=channel_id, thread_ts=thread, text=f"Approval needed: {action}", blocks=blocks
    )
    return Notification(channel_id, resp["ts"], thread, new_thread=False)


def _button(label: str, action_id: str, value: str, style: str) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
        "style": style,
    }


# -- interactivity -------------------------------------------------------------------------------
class _FixedClock(Clock):
    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def verify_request(
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    signing_secret: str | None = None,
    now: float | None = None,
) -> bool:
    """True when a request really comes from Slack: a v0 signature made within 5 minutes.

    Forged, stale, unsigned and malformed requests (a non-numeric timestamp too) give False.
    ``body`` must be the raw bytes received.

    >>> verify_request({"X-Slack-Request-Timestamp": "x", "X-Slack-Signature": "v0=0"}, b"",
    ...                signing_secret="s")
    False
    """
    secret = signing_secret or get_settings().require("slack_signing_secret", "verifying Slack")
    verifier = SignatureVerifier(secret, clock=_FixedClock(now) if now is not None else Clock())
    try:
        return verifier.is_valid_request(body, dict(headers.items()))
    except (ValueError, TypeError, UnicodeDecodeError, AttributeError):
        return False


@dataclass(frozen=True)
class Interaction:
    """A button click, as parsed from a ``block_actions`` request."""

    action_id: str
    value: str | None
    user: str
    channel: str
    message_ts: str
    response_url: str | None
    payload: dict

    @property
    def approved(self) -> bool:
        return self.action_id == ACTION_APPROVE

    @property
    def request(self) -> dict:
        """The approval request's value (dedup key, action, ticket), when it is JSON."""
        try:
            value = json.loads(self.value or "")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def parse_interaction(body: bytes | str) -> Interaction:
    """The click in a ``payload=<json>`` form body; ``SlackError`` when it is not one."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        payload = json.loads(urllib.parse.parse_qs(text)["payload"][0])
        action = payload["actions"][0]
        return Interaction(
            action_id=action["action_id"],
            value=action.get("value"),
            user=payload["user"].get("username") or payload["user"]["id"],
            channel=payload["channel"]["id"],
            message_ts=payload["container"]["message_ts"],
            response_url=payload.get("response_url"),
            payload=payload,
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SlackError(f"not a block_actions payload: {exc!r}") from exc


def respond(interaction: Interaction, text: str, *, replace_original: bool = True) -> None:
    """Answer a click through its ``response_url`` (by default replacing the buttons).

    >>> respond(click, "Approved by alice: revoking ingress")        # doctest: +SKIP
    """
    if not interaction.response_url:
        raise SlackError("the interaction has no response_url")
    client = WebhookClient(interaction.response_url, retry_handlers=_retry_handlers())
    resp = client.send(text=text, replace_original=replace_original)
    if resp.status_code != 200:
        raise SlackError(f"response_url answered HTTP {resp.status_code}: {resp.body}")


# -- local world only ----------------------------------------------------------------------------
def find_approval(
    channel: str, thread_ts: str, client: WebClient | None = None
) -> Notification | None:
    """The newest approval request (a message with buttons) in an incident's thread, if any.

    >>> ask = find_approval(incident["slack"]["channel"], incident["slack"]["ts"])  # doctest: +SKIP
    """
    client = client or web_client()
    replies = client.conversations_replies(channel=channel, ts=thread_ts)["messages"]
    asks = [m for m in replies if any(b.get("type") == "actions" for b in m.get("blocks", []))]
    return Notification(channel, asks[-1]["ts"], thread_ts, False) if asks else None


def click_button(
    notification: Notification,
    action_id: str = ACTION_APPROVE,
    *,
    user: str = "alice",
    request_url: str | None = None,
    settings: Settings | None = None,
) -> dict:
    """Click a button of a posted message, as a person would (the local world only).

    The local workspace sends the signed ``block_actions`` request to ``request_url`` (default:
    the configured Request URL) and returns what happened. On real Slack a person clicks.
    """
    settings = settings or get_settings()
    if not settings.slack_api_url:
        raise SlackError("click_button needs the local world (SLACK_API_URL); on Slack, click it")
    root = settings.slack_api_url.rstrip("/").removesuffix("/api")
    token = settings.require("slack_bot_token")
    session = requests.Session()
    session.trust_env = False  # loopback only
    with session:
        resp = session.post(
            f"{root}/_lab/click",
            json={
                "channel": notification.channel,
                "ts": notification.ts,
                "action_id": action_id,
                "user": user,
                "request_url": request_url,
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    body = resp.json()
    if not body.get("ok"):
        raise SlackError(f"click failed: {body.get('error')}")
    return body["interaction"]
