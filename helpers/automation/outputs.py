"""Where incidents are written: the ticket system (Jira) and the chat (Slack), through the
toolkit's own modules (:mod:`helpers.jira`, :mod:`helpers.slack`), so the official clients do the
talking. Each failure is classified for the queue: worth retrying (5xx, 429 with its Retry-After,
timeouts, connection errors) raises :class:`~helpers.runtime.queue.Retry`; a refusal that can never
succeed raises :class:`~helpers.runtime.queue.Permanent`.

Clients are made lazily and once, by factories the caller may replace (tests, the two worlds).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from jira import JIRA, JIRAError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from helpers import jira as jira_helpers
from helpers import slack as slack_helpers
from helpers.config import Settings, get_settings
from helpers.incident import Incident
from helpers.runtime.locks import KeyLocks
from helpers.runtime.queue import Permanent, Retry

__all__ = ["JiraTickets", "SlackChat", "TicketRef"]

log = logging.getLogger("helpers.automation.outputs")

#: HTTP answers worth another try later.
RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class TicketRef:
    key: str
    url: str
    created: bool


class _Lazy:
    """One client per instance, made on first use by ``factory`` (thread-safe)."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._client = None
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    def reset(self) -> None:
        with self._lock:
            self._client = None


def _retry_after(headers: Any) -> float | None:
    try:
        value = (headers or {}).get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# -- Jira ----------------------------------------------------------------------------------------
class JiraTickets:
    """Tickets in Jira: find by dedup key, create, comment, move along the workflow."""

    def __init__(
        self,
        settings: Settings | None = None,
        client: Callable[[], JIRA] | None = None,
        locks: KeyLocks | None = None,
    ):
        self.settings = settings or get_settings()
        self.locks = locks
        self.user = self.settings.jira_user  # the automation's own account (its events are ours)
        # No retries inside the client: the queue retries with backoff and keeps the worker free.
        self._client = _Lazy(client or (lambda: jira_helpers.connect(self.settings, max_retries=0)))

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except JIRAError as err:
            status = err.status_code
            if status is None or status in RETRYABLE:
                after = _retry_after(getattr(err.response, "headers", None))
                raise Retry(f"Jira {what}: HTTP {status}", after=after) from err
            if status in (401, 403):
                raise Retry(f"Jira {what}: HTTP {status} (check JIRA_USER/JIRA_TOKEN)") from err
            raise Permanent(f"Jira {what}: HTTP {status}: {err.text}") from err
        except jira_helpers.JiraHelperError as err:
            cause = err.__cause__
            if isinstance(cause, JIRAError) and (cause.status_code or 0) not in RETRYABLE | {0}:
                raise Permanent(f"Jira {what}: {err}") from err
            raise Retry(f"Jira {what}: {err}") from err
        except (requests.RequestException, OSError) as err:
            self._client.reset()
            raise Retry(f"Jira {what}: {type(err).__name__}: {err}") from err

    def ensure(self, incident: Incident) -> TicketRef:
        """The incident's open ticket, found by dedup key, else a new one (never a second)."""
        client = self._client_or_retry()
        ticket = self._call(
            "create",
            lambda: jira_helpers.open_or_update_incident(
                incident,
                client=client,
                settings=self.settings,
                locks=self.locks,
                repeat_comment=False,
            ),
        )
        return TicketRef(ticket.key, ticket.url, ticket.created)

    def delegate(self, ticket: str, component: str, assignee: str) -> list[str]:
        """Set the ticket's component and assignee; returns what could not be done, and why."""
        client = self._client_or_retry()
        problems = []
        if component:
            try:
                self._call("component", lambda: client.issue(ticket, fields="components").update(
                    fields={"components": [{"name": component}]}))  # fmt: skip
            except Permanent as err:
                problems.append(f"component {component}: {err}")
        if assignee:
            try:
                self._call("assign", lambda: client.assign_issue(ticket, assignee))
            except Permanent as err:
                problems.append(f"assignee {assignee}: {err}")
        return problems

    def comment(self, ticket: str, text: str) -> None:
        client = self._client_or_retry()
        self._call("comment", lambda: client.add_comment(ticket, text))

    def move(self, ticket: str, status: str) -> str | None:
        """Move the ticket to ``status`` (through In Progress when there is no direct step).

        Returns the status reached, or None when the workflow offers no way there.
        """
        client = self._client_or_retry()
        for _ in range(3):
            issue = self._call("read", lambda: client.issue(ticket, fields="status"))
            current = issue.fields.status.name
            if current.lower() == status.lower():
                return current
            choices = self._call("transitions", lambda: client.transitions(ticket))
            step = next((t for t in choices if t["to"]["name"].lower() == status.lower()), None)
            step = step or next((t for t in choices if t["to"]["name"] == "In Progress"), None)
            if step is None:
                return None
            self._call("transition", lambda s=step: client.transition_issue(ticket, s["id"]))
        return None

    def _client_or_retry(self) -> JIRA:
        return self._call("connect", self._client)


# -- Slack ---------------------------------------------------------------------------------------
class SlackChat:
    """The incident's Slack thread: open (or find) it, reply, ask for approval, answer clicks."""

    def __init__(
        self,
        settings: Settings | None = None,
        client: Callable[[], WebClient] | None = None,
        locks: KeyLocks | None = None,
    ):
        self.settings = settings or get_settings()
        self.locks = locks
        self._client = _Lazy(client or (lambda: slack_helpers.web_client(self.settings)))
        self._channel_id: str | None = None
        self._channels: dict[str, str] = {}

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SlackApiError as err:
            status = err.response.status_code
            error = err.response.get("error") if hasattr(err.response, "get") else None
            if status in RETRYABLE or error in ("ratelimited", "internal_error", "fatal_error"):
                after = _retry_after(err.response.headers)
                raise Retry(f"Slack {what}: {error or status}", after=after) from err
            raise Permanent(f"Slack {what}: {error or status}") from err
        except slack_helpers.SlackError as err:
            raise Retry(f"Slack {what}: {err}") from err
        except (SlackClientError, OSError) as err:
            raise Retry(f"Slack {what}: {type(err).__name__}: {err}") from err

    def open_thread(
        self, incident: Incident, ticket: TicketRef | None, since: float | None = None
    ) -> tuple[str, str]:
        """The incident's thread ``(channel id, ts)``: found by dedup key among the messages
        since ``since`` (when the incident began), else posted."""
        ref = {"key": ticket.key, "url": ticket.url} if ticket else None
        note = self._call(
            "post",
            lambda: slack_helpers.notify_incident(
                incident,
                ref,
                client=self._client(),
                channel=self._channel(),
                settings=self.settings,
                locks=self.locks,
                oldest=since,
            ),
        )
        return note.channel, note.thread_ts

    def _channel(self) -> str:
        """The security channel's id, looked up once."""
        if self._channel_id is None:
            self._channel_id = self._call(
                "channel",
                lambda: slack_helpers.resolve_channel(self._client(), self.settings.slack_channel),
            )
        return self._channel_id

    def post(self, channel: str, text: str) -> None:
        """A message in another channel (the owning team's), by name or id."""
        if channel not in self._channels:
            self._channels[channel] = self._call(
                "channel", lambda: slack_helpers.resolve_channel(self._client(), channel)
            )
        channel_id = self._channels[channel]
        self._call("post", lambda: self._client().chat_postMessage(channel=channel_id, text=text))

    def reply(self, channel: str, thread: str, text: str) -> None:
        self._call(
            "reply",
            lambda: self._client().chat_postMessage(
                channel=channel, thread_ts=thread, text=slack_helpers.escape(text)
            ),
        )

    def ask_approval(
        self, incident: Incident, action: str, reason: str, ticket: TicketRef | None
    ) -> None:
        ref = {"key": ticket.key, "url": ticket.url} if ticket else None
        self._call(
            "approval",
            lambda: slack_helpers.request_approval(
                incident,
                action,
                ticket=ref,
                reason=reason,
                client=self._client(),
                channel=self._channel(),
                settings=self.settings,
                locks=self.locks,
            ),
        )

    def respond(self, response_url: str, text: str) -> None:
        """Answer a click or a command through its ``response_url``."""
        body = json.dumps({"text": slack_helpers.escape(text), "replace_original": True})
        try:
            resp = requests.post(
                response_url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=10,
            )
        except requests.RequestException as err:
            raise Retry(f"Slack response_url: {err}") from err
        if resp.status_code in RETRYABLE:
            raise Retry(f"Slack response_url: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            log.warning("response_url answered HTTP %s; giving up on it", resp.status_code)


# -- Splunk --------------------------------------------------------------------------------------
class SplunkResults:
    """The whole result set of a digest alert, fetched by ``sid`` through splunk-sdk.

    A per-result alert's webhook carries its one row, which is the whole story. A digest alert
    carries only the first row: the others are read from the search job, while Splunk keeps it.
    When the job has expired or Splunk is unreachable, the payload's row is used, and the note
    says so.
    """

    def __init__(self, settings: Settings | None = None, service: Callable[[], Any] | None = None,
                 ttl: float = 60.0):  # fmt: skip
        from helpers import splunk as splunk_helpers

        self.settings = settings or get_settings()
        self._service = _Lazy(service or (lambda: splunk_helpers.connect(self.settings)))
        self._digest: dict[str, tuple[float, bool]] = {}
        self.ttl = ttl

    def rows(self, alert: dict, limit: int = 1000) -> tuple[list[dict], str]:
        """``(rows, note)`` for an alert; ``note`` is empty when nothing was lost."""
        import splunklib.binding as binding
        import splunklib.results as results

        payload_rows = alert["rows"]
        name, sid = alert.get("search_name"), alert.get("sid")
        if alert.get("source") != "splunk-webhook" or not name or not sid:
            return payload_rows, ""
        try:
            cached = self._digest.get(name)
            if cached is None or time.monotonic() - cached[0] > self.ttl:
                saved = self._service().saved_searches[name]
                digest = str(saved.content.get("alert.digest_mode", "1")).lower() in ("1", "true")
                self._digest[name] = cached = (time.monotonic(), digest)
            if not cached[1]:
                return payload_rows, ""
            job = self._service().job(sid)
            stream = job.results(output_mode="json", count=limit)
            rows = [dict(r) for r in results.JSONResultsReader(stream) if isinstance(r, dict)]
        except KeyError:
            self._digest[name] = (time.monotonic(), False)
            return payload_rows, f"saved search {name!r} is not in Splunk; used the payload's row"
        except binding.HTTPError as err:
            if err.status == 404:
                return payload_rows, (
                    f"the search job {sid} has expired in Splunk; worked from the payload's "
                    "first row only"
                )
            return payload_rows, f"Splunk answered HTTP {err.status}; used the payload's row"
        except (OSError, binding.AuthenticationError) as err:
            self._service.reset()
            return payload_rows, f"Splunk is unreachable ({err}); worked from the payload's row"
        return (rows or payload_rows), ""
