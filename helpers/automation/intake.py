"""The ways in: parse and validate what Splunk, SNS, Lambda, Jira and Slack send.

Each parser takes the raw request (bytes or a decoded document) and returns a plain dict that is
stored on the inbox queue as it is, or raises :class:`BadRequest` naming the problem (the server
answers 4xx and stores nothing).

>>> alert = splunk_alert(b'{"sid": "rt_1", "search_name": "x", "result": {"resource": "sg-1"}}')
>>> alert["kind"], alert["rows"]
('alert', [{'resource': 'sg-1'}])
>>> splunk_alert(b'{"sid": 7}')
Traceback (most recent call last):
...
helpers.automation.intake.BadRequest: sid must be a string
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_BODY",
    "BadRequest",
    "jira_event",
    "lambda_alerts",
    "slack_action",
    "slack_command",
    "sns_alert",
    "splunk_alert",
    "sweep_findings",
]

#: Largest request body accepted (a Splunk webhook carries one result row).
MAX_BODY = 1024 * 1024
#: Deepest JSON nesting accepted (CloudTrail records nest about 8 deep).
MAX_DEPTH = 32
#: Result rows one alert may carry (a digest alert fetched by sid).
MAX_ROWS = 1000
#: Slash command words the bot understands.
COMMANDS = ("status", "approve", "deny", "sweep", "help")


class BadRequest(ValueError):
    """The request is malformed; ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _json(body: bytes | str, what: str) -> Any:
    if isinstance(body, bytes | bytearray):
        if len(body) > MAX_BODY:
            raise BadRequest(f"{what} is larger than {MAX_BODY} bytes", 413)
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"{what} is not UTF-8") from None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise BadRequest(f"{what} is not valid JSON: {err}") from None
    _check_depth(doc, what)
    return doc


def _check_depth(doc: Any, what: str) -> None:
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"{what} nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _object(doc: Any, what: str) -> dict:
    if not isinstance(doc, dict):
        raise BadRequest(f"{what} must be a JSON object, not {type(doc).__name__}")
    return doc


def _string(doc: Mapping, name: str, *, required: bool = False, default: str = "") -> str:
    value = doc.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _row(value: Any, what: str) -> dict:
    row = _object(value, what)
    for name, field in row.items():
        ok = isinstance(field, str | int | float | bool) or field is None
        if isinstance(field, list):
            ok = all(isinstance(v, str | int | float | bool) for v in field)
        if not ok:
            raise BadRequest(f"{what} field {name!r} must be a string, number or list of them")
    return row


# -- Splunk ----------------------------------------------------------------------------------------
def splunk_alert(body: bytes | str) -> dict:
    """A Splunk webhook alert action's POST: ``result`` (the first row), ``sid``, ``search_name``,
    ``results_link``, ``owner``, ``app``. Splunk cannot sign it; the URL's token is checked first.
    """
    doc = _object(_json(body, "the webhook body"), "the webhook body")
    sid = _string(doc, "sid", required=True)
    if not sid.strip():
        raise BadRequest("sid must not be empty")
    result = doc.get("result")
    if result is None:
        raise BadRequest("result is required (the alert's first result row)")
    return {
        "kind": "alert",
        "source": "splunk-webhook",
        "sid": sid,
        "search_name": _string(doc, "search_name"),
        "results_link": _string(doc, "results_link"),
        "owner": _string(doc, "owner"),
        "app": _string(doc, "app"),
        "rows": [_row(result, "result")],
    }


def sns_alert(message: str | Mapping, *, source: str = "sns") -> dict:
    """The Splunk Add-on for AWS ``aws_sns_alert`` message (the SNS ``Message``), as an alert.

    The add-on publishes a JSON object with ``search_name``, ``results_link``, ``app``,
    ``owner``, ``trigger_time`` and its parameters ``entity``, ``correlation_id``, ``source``,
    ``timestamp``, ``event`` and ``message``. The lab's detections put the dedup key in
    ``correlation_id``, the resource in ``entity``, the detection id in ``source`` and the result
    row as JSON in ``event``.
    """
    doc = _object(
        _json(message, "the SNS message") if isinstance(message, str | bytes) else message,
        "the SNS message",
    )
    event = doc.get("event")
    row: dict = {}
    if isinstance(event, str) and event.lstrip().startswith("{"):
        row = _row(_json(event, "the SNS message's event"), "event")
    elif isinstance(event, dict):
        row = _row(event, "event")
    for theirs, ours in (("entity", "resource"), ("correlation_id", "dedup_key"),
                         ("source", "detection")):  # fmt: skip
        value = doc.get(theirs)
        if isinstance(value, str) and value and not row.get(ours):
            row[ours] = value
    if not row:
        raise BadRequest("the SNS message carries no result (event, entity or correlation_id)")
    results_link = _string(doc, "results_link")
    sid = _string(doc, "sid") or _sid_from_link(results_link)
    return {
        "kind": "alert",
        "source": source,
        "sid": sid or _string(doc, "correlation_id") or "sns",
        "search_name": _string(doc, "search_name"),
        "results_link": results_link,
        "owner": _string(doc, "owner"),
        "app": _string(doc, "app"),
        "rows": [row],
    }


def _sid_from_link(link: str) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
    return (query.get("sid") or [""])[0]


def sns_notification(doc: Any, *, source: str = "sns") -> dict:
    """An SNS ``Notification`` (as SQS or HTTP subscribers get it) whose Message is an alert."""
    doc = _object(doc, "the SNS notification")
    if doc.get("Type", "Notification") != "Notification":
        raise BadRequest(f"SNS {doc.get('Type')} messages carry no alert")
    message = doc.get("Message")
    if not isinstance(message, str):
        raise BadRequest("the SNS notification has no Message string")
    return sns_alert(message, source=source)


def lambda_alerts(event: Any) -> list[tuple[str | None, dict]]:
    """``(SQS message id or None, alert)`` for each record of a Lambda SNS or SQS event."""
    event = _object(event, "the Lambda event")
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise BadRequest("the Lambda event has no Records")
    alerts = []
    for record in records:
        record = _object(record, "a Lambda record")
        origin = record.get("EventSource") or record.get("eventSource")
        if origin == "aws:sns":
            sns = _object(record.get("Sns"), "the record's Sns")
            alerts.append((None, sns_notification(sns, source="lambda-sns")))
        elif origin == "aws:sqs":
            body = _json(_string(record, "body", required=True), "the SQS message body")
            alert = (
                sns_notification(body, source="lambda-sqs")
                if isinstance(body, dict) and "Message" in body
                else sns_alert(body, source="lambda-sqs")
            )
            alerts.append((_string(record, "messageId") or None, alert))
        else:
            raise BadRequest(f"unsupported Lambda event source {origin!r} (aws:sns, aws:sqs)")
    return alerts


# -- a sweep's findings ----------------------------------------------------------------------------
def sweep_findings(body: bytes | str) -> dict:
    """What a sweep found outside Splunk (the ``sg-sweep`` job): ``{"rows": [...]}``, each row
    in a detection's fields (``detection`` and ``resource`` at least), ``source`` saying who
    swept. The same ``sweep`` item as ``/secbot sweep``, with the rows already found.

    >>> item = sweep_findings(b'{"rows": [{"detection": "d", "resource": "sg-1"}]}')
    >>> item["kind"], len(item["rows"])
    ('sweep', 1)
    """
    doc = _object(_json(body, "the sweep body"), "the sweep body")
    rows = doc.get("rows")
    if not isinstance(rows, list):
        raise BadRequest("rows must be a list of result rows (it may be empty)")
    if len(rows) > MAX_ROWS:
        raise BadRequest(f"at most {MAX_ROWS} rows per sweep")
    checked = [_row(row, "a row") for row in rows]
    for row in checked:
        for name in ("detection", "resource"):
            if not isinstance(row.get(name), str) or not row[name]:
                raise BadRequest(f"every row needs a {name} (text)")
    return {"kind": "sweep", "source": _string(doc, "source") or "a sweep", "rows": checked}


# -- Jira ------------------------------------------------------------------------------------------
def jira_event(body: bytes | str) -> dict:
    """A Jira webhook: ``webhookEvent`` and the ``issue`` (key, labels, status)."""
    doc = _object(_json(body, "the Jira webhook body"), "the Jira webhook body")
    event = _string(doc, "webhookEvent", required=True)
    issue = _object(doc.get("issue"), "issue")
    key = _string(issue, "key", required=True)
    fields = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
    status = fields.get("status") if isinstance(fields.get("status"), dict) else {}
    comment = doc.get("comment") if isinstance(doc.get("comment"), dict) else {}
    changelog = doc.get("changelog") if isinstance(doc.get("changelog"), dict) else {}
    moved = [
        item
        for item in changelog.get("items") or []
        if isinstance(item, dict) and item.get("field") == "status"
    ]
    return {
        "kind": "jira",
        "event": event,
        "ticket": key,
        "status": status.get("name") if isinstance(status.get("name"), str) else None,
        "status_from": str(moved[-1].get("fromString") or "") if moved else None,
        "status_to": str(moved[-1].get("toString") or "") if moved else None,
        "comment": comment.get("body") if isinstance(comment.get("body"), str) else None,
        "user": (doc.get("user") or {}).get("name") if isinstance(doc.get("user"), dict) else None,
    }


# -- Slack -----------------------------------------------------------------------------------------
def _form(body: bytes | str, what: str) -> dict[str, str]:
    if isinstance(body, bytes | bytearray):
        if len(body) > MAX_BODY:
            raise BadRequest(f"{what} is larger than {MAX_BODY} bytes", 413)
        body = body.decode("utf-8", errors="replace")
    try:
        pairs = urllib.parse.parse_qs(body, keep_blank_values=True, strict_parsing=bool(body))
    except ValueError:
        raise BadRequest(f"{what} is not a form body") from None
    return {k: v[0] for k, v in pairs.items()}


def slack_action(body: bytes | str) -> dict:
    """A ``block_actions`` click on an Approve / Deny button (``payload=<json>`` form body)."""
    form = _form(body, "the interaction")
    if "payload" not in form:
        raise BadRequest("the interaction has no payload")
    payload = _object(_json(form["payload"], "the payload"), "the payload")
    if payload.get("type") != "block_actions":
        raise BadRequest(f"unsupported interaction type {payload.get('type')!r}")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadRequest("the payload has no actions")
    action = actions[0]
    try:
        value = json.loads(_string(action, "value"))
    except ValueError:
        value = {}
    if not isinstance(value, dict) or not isinstance(value.get("dedup_key"), str):
        raise BadRequest("the button's value names no incident (dedup_key)")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    return {
        "kind": "slack-action",
        "action_id": _string(action, "action_id", required=True),
        "dedup_key": value["dedup_key"],
        "user": str(user.get("username") or user.get("name") or user.get("id") or "someone"),
        "response_url": _string(payload, "response_url") or None,
    }


def slack_command(body: bytes | str) -> dict:
    """A slash command (``/secbot status <key>``): form fields ``command``, ``text``, ``user_name``,
    ``response_url``."""
    form = _form(body, "the slash command")
    command = form.get("command", "")
    if not command.startswith("/"):
        raise BadRequest("command must start with /")
    words = form.get("text", "").split()
    verb = words[0].lower() if words else "help"
    if verb not in COMMANDS:
        raise BadRequest(f"unknown subcommand {verb!r}; try: {', '.join(COMMANDS)}")
    return {
        "kind": "slack-command",
        "command": command,
        "verb": verb,
        "args": words[1:],
        "user": form.get("user_name") or form.get("user_id") or "someone",
        "channel": form.get("channel_id") or form.get("channel_name") or "",
        "response_url": form.get("response_url") or None,
    }
