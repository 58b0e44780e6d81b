"""Exercise 05: the handler that turns a Splunk alert into one Jira ticket per incident.

:func:`check_handler` calls the student's ``handle_alert(payload, client)`` with Splunk webhook
payloads (the shape notebook 04 showed) for two security groups that exist only for this check,
reads Jira back, and closes the tickets it made: the first alert opens a ticket carrying the
dedup key and the severity's priority, the same alert again comments on it, another group gets
its own ticket, and a payload with no result row raises ``ValueError`` and changes nothing.

>>> check_handler(handle_alert).passed                              # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import secrets

from jira import JIRAError

from helpers import detections, jira
from helpers.checks import Hint, check, student
from helpers.config import get_settings
from helpers.incident import Severity

__all__ = ["DETECTION", "check_handler", "example_payload"]

DETECTION = "security-group-open-to-world"
ACCOUNT = "123456789012"


def example_payload(group: str = "sg-0123456789abcdef0", event_id: str = "example-1") -> dict:
    """A Splunk webhook payload of the detection for ``group`` (as the automation receives it)."""
    detection = detections.get(DETECTION)
    row = {
        "_time": "2026-11-02T10:00:00.000+00:00",
        "eventID": event_id,
        "eventName": "AuthorizeSecurityGroupIngress",
        "detection": DETECTION,
        "severity": detection.severity,
        "playbook": detection.playbook,
        "resource": group,
        "account": ACCOUNT,
        "region": "us-east-1",
        "actor": f"arn:aws:iam::{ACCOUNT}:user/developer",
        "source_ip": "77.88.8.8",
        "user_agent": "aws-cli/2.15.30",
        "event_time": "2026-11-02T10:00:00Z",
        "details": "ingress from anywhere; from port(s) 3389",
        "dedup_key": f"{DETECTION}:{group}:{ACCOUNT}",
    }
    return {
        "sid": f"rt_exercise_{event_id}",
        "search_name": DETECTION,
        "app": "search",
        "owner": "nobody",
        "results_link": "",
        "result": row,
    }


def _group() -> str:
    """A security group id no other run or test uses (the tickets are this check's alone)."""
    return "sg-0" + secrets.token_hex(8)


def _newest(client, project: str) -> str | None:
    found = jira.search(f'project = "{project}" ORDER BY created DESC', client, max_results=1)
    return found[0].key if found else None


def _issue(client, key) -> object:
    if not isinstance(key, str) or not key:
        raise Hint(f"handle_alert() returned {key!r}: return the ticket's key (such as SEC-12)")
    try:
        return client.issue(key)
    except JIRAError:
        raise Hint(f"handle_alert() returned {key!r}, but Jira has no such ticket") from None


@check
def check_handler(handle_alert) -> str:
    """One ticket per incident, a comment on a repeat, another ticket for another group, and a
    malformed payload refused without a ticket."""
    settings = get_settings()
    client = jira.connect(settings)
    made: set[str] = set()
    try:
        return _exercise(handle_alert, client, settings, made)
    finally:
        for key in made:  # leave the board as it was: these tickets were only for the check
            with contextlib.suppress(jira.JiraHelperError):  # already done: nothing to tidy
                jira.transition(key, "Done", client=client, comment="Closed by exercise 05.")


def _exercise(handle_alert, client, settings, made: set[str]) -> str:
    first, other = _group(), _group()
    payload = example_payload(first, "first")
    key = student(handle_alert, payload, client)
    issue = _issue(client, key)
    made.add(key)
    dedup = payload["result"]["dedup_key"]
    field = jira.field_id(client, settings.jira_dedup_field)
    if getattr(issue.fields, field, None) != jira.field_value(dedup):
        raise Hint(
            f"{key} does not carry the incident's dedup key in its {settings.jira_dedup_field} "
            "field: that is how the next alert finds it"
        )
    priority = Severity.parse(payload["result"]["severity"]).jira_priority
    if getattr(issue.fields.priority, "name", None) != priority:
        raise Hint(f"{key} should have the priority of the severity (high -> {priority})")
    comments = len(client.comments(key))
    again = student(handle_alert, example_payload(first, "again"), client)
    if isinstance(again, str):
        made.add(again)
    tickets = [i.key for i in jira.open_incidents(dedup, client, settings, field)]
    made.update(tickets)
    if again != key or len(tickets) != 1:
        raise Hint(
            f"the same alert twice gave {', '.join(tickets)}: before you create a ticket, look "
            "for an open one whose dedup key field holds the incident's key"
        )
    if len(client.comments(key)) <= comments:
        raise Hint(f"the repeat found {key} but left no comment: say when and what fired again")
    second = student(handle_alert, example_payload(other, "other"), client)
    _issue(client, second)
    made.add(second)
    if second == key:
        raise Hint(f"another security group landed on {key}: each group is its own incident")
    newest = _newest(client, settings.jira_project)
    try:
        handle_alert({"sid": "rt_exercise_bad", "search_name": DETECTION}, client)
    except ValueError:
        pass
    except Exception as err:
        raise Hint(
            f"a payload without a result row raised {type(err).__name__}: raise ValueError, "
            "with a message that says what is missing"
        ) from None
    else:
        raise Hint("a payload without a result row must raise ValueError (and change nothing)")
    if _newest(client, settings.jira_project) != newest:
        raise Hint("a payload without a result row opened a ticket anyway: check before acting")
    return (
        f"{key} holds the incident and the repeat commented on it, {second} the other group; a "
        "payload without a result was refused and changed nothing"
    )
