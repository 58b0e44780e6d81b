"""Exercise 06: disable an access key used from abroad, only after a person approves in Slack.

:func:`setup` makes sure the developer's key works, lets the attacker use it from abroad
(``key-from-abroad``), and hands out the incident the detection raises and a receiver standing
in for the Slack app's Request URL. :func:`approver_clicks` plays the approver in the local
Slack (a real workspace has a person click). The checks read the thread back from Slack and the
key from IAM: asked (key still active), denied (still active, answered), approved (Inactive,
answered).

>>> practice = setup()                                              # doctest: +SKIP
>>> ask = ask_to_disable(practice.incident)                         # doctest: +SKIP
>>> check_asked(practice, ask).passed                               # doctest: +SKIP
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from helpers import detections, simulate, slack
from helpers.aws import session
from helpers.checks import Hint, check
from helpers.clients import Clients
from helpers.config import Settings, get_settings
from helpers.incident import Incident
from helpers.playbooks.access_key import key_owner
from helpers.receivers import SlackActionReceiver
from helpers.simulate import ScenarioResult

__all__ = [
    "Practice",
    "approver_clicks",
    "check_asked",
    "check_denied",
    "check_disabled",
    "cleanup",
    "reactivate_attacker_key",
    "setup",
]

DETECTION = "access-key-used-from-unexpected-country"
SCENARIO = "key-from-abroad"
CLICK_WAIT = 10.0
BUTTONS = {slack.ACTION_APPROVE, slack.ACTION_DENY}


@dataclass
class Practice:
    """The incident to answer, the attack behind it, and the receiver the clicks go to."""

    incident: Incident
    attack: ScenarioResult
    receiver: SlackActionReceiver


_receiver: SlackActionReceiver | None = None  # the one a setup started (stopped on the next)


def _key(iam, user: str, key_id: str) -> dict | None:
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return next((k for k in keys if k["AccessKeyId"] == key_id), None)


def reactivate_attacker_key(settings: Settings | None = None) -> bool:
    """Set the attacker's stolen key (the developer's) Active again if it was disabled."""
    settings = settings or get_settings()
    key_id = settings.lab_attacker_access_key_id
    clients = Clients(settings)
    user = key_owner(clients, key_id)
    if user is None or (_key(clients.aws("iam"), user, key_id) or {}).get("Status") != "Inactive":
        return False
    clients.aws("iam").update_access_key(UserName=user, AccessKeyId=key_id, Status="Active")
    return True


def setup(settings: Settings | None = None) -> Practice:
    """Attack with the developer's key from abroad; return the incident and a click receiver."""
    global _receiver
    settings = settings or get_settings()
    reactivate_attacker_key(settings)  # an earlier run (or the automation) disabled it
    attack = simulate.run(SCENARIO, settings)
    detection = detections.get(DETECTION)
    key_id, address = attack.actor["accessKeyId"], attack.actor["sourceIPAddress"]
    incident = Incident(
        detection=DETECTION,
        resource=key_id,
        account=session(settings).account_id(),
        severity=detection.severity,
        title=detection.title,
        region=settings.aws_region,
        source_ip=address,
        event_time=attack.started.isoformat(),
        details=f"{key_id} was used from {address} for {', '.join(attack.events)}",
    )
    if _receiver is not None:
        _receiver.stop()
    _receiver = SlackActionReceiver(settings.require("slack_signing_secret")).start()
    return Practice(incident, attack, _receiver)


def approver_clicks(ask, receiver: SlackActionReceiver, *, approve: bool, user: str):
    """Click Approve or Deny on the request as ``user`` (the local world); returns the click the
    receiver got, or None (and says why) when there is nothing to click."""
    if not isinstance(ask, slack.Notification):
        print("nothing to click: ask_to_disable() returned no approval request yet")
        return None
    before = len(receiver.payloads)
    action = slack.ACTION_APPROVE if approve else slack.ACTION_DENY
    slack.click_button(ask, action, user=user, request_url=receiver.url)
    return receiver.wait(before + 1, timeout=CLICK_WAIT)[-1]


def _message(ask) -> dict | None:
    """The message a Notification points to, read back from its thread."""
    client = slack.web_client()
    replies = client.conversations_replies(channel=ask.channel, ts=ask.thread_ts)["messages"]
    return next((m for m in replies if m["ts"] == ask.ts), None)


def _buttons(message: dict) -> list[dict]:
    return [
        element
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


def _key_state(incident: Incident) -> tuple[str | None, str | None]:
    """(user, status) of the incident's key; status None when the key is gone."""
    clients = Clients()
    user = key_owner(clients, incident.resource)
    if user is None:
        return None, None
    return user, (_key(clients.aws("iam"), user, incident.resource) or {}).get("Status")


def _request(ask, what: str) -> dict:
    if not isinstance(ask, slack.Notification):
        raise Hint(
            f"there is no approval request {what}: ask_to_disable() must return the Notification "
            "that slack.request_approval() gives (it says where the request is)"
        )
    message = _message(ask)
    if message is None:
        raise Hint("Slack has no message where the Notification points: return the one you post")
    return message


@check
def check_asked(practice: Practice, ask) -> str:
    """The request is in the incident's thread, with both buttons, naming the key and its user,
    and the key is still active."""
    incident = practice.incident
    message = _request(ask, "yet")
    client = slack.web_client()
    problems = []
    if slack.find_thread(client, ask.channel, incident.dedup_key) != ask.thread_ts:
        problems.append("post the request in the incident's thread (its dedup key finds it)")
    buttons = _buttons(message)
    if not {b.get("action_id") for b in buttons} >= BUTTONS:
        problems.append("the request needs an Approve and a Deny button")
    elif any(_value(b).get("dedup_key") != incident.dedup_key for b in buttons):
        problems.append("the buttons must carry the incident's dedup key, so a click says what")
    user, status = _key_state(incident)
    said = json.dumps(message.get("blocks") or []) + message.get("text", "")
    if incident.resource not in said or (user and user not in said):
        problems.append("say what will happen: which key, and whose (its IAM user)")
    if status != "Active":
        problems.append("the key is no longer active: ask first, and disable only after Approve")
    if problems:
        raise Hint(*problems)
    return (
        f"the request to disable {incident.resource} of {user} waits in the incident's thread, "
        "with Approve and Deny; the key still works"
    )


def _value(button: dict) -> dict:
    try:
        value = json.loads(button.get("value") or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _answered(message: dict) -> str | None:
    """A hint when the request was not answered (its buttons still there), else None."""
    if _buttons(message):
        return (
            "the request still shows its buttons: answer the click through its response_url "
            "(slack.respond), so nobody can click twice"
        )
    return None


@check
def check_denied(practice: Practice, ask) -> str:
    """After Deny: the key still works, and the request was answered."""
    message = _request(ask, "to deny")
    user, status = _key_state(practice.incident)
    problems = [p for p in (_answered(message),) if p]
    if status != "Active":
        problems.append("the approver clicked Deny, but the key is not active: only Approve acts")
    if problems:
        raise Hint(*problems)
    return f"denied: {practice.incident.resource} of {user} stays active, and the thread says so"


@check
def check_disabled(practice: Practice, ask) -> str:
    """After Approve: the key is Inactive (not deleted), and the request was answered."""
    message = _request(ask, "to approve")
    user, status = _key_state(practice.incident)
    problems = [p for p in (_answered(message),) if p]
    if status is None:
        problems.append(
            "the key is gone: set it Inactive instead of deleting it, so it can be given back"
        )
    elif status != "Inactive":
        problems.append(f"Approve was clicked, but the key is still {status}: set it Inactive")
    if problems:
        raise Hint(*problems)
    key = practice.incident.resource
    return f"approved, then {key} of {user} was set Inactive; the thread says so"


def cleanup(practice: Practice | None = None, settings: Settings | None = None) -> None:
    """Stop the receiver and give the developer's key back (the other exercises attack with it)."""
    if practice is not None:
        practice.receiver.stop()
    reactivate_attacker_key(settings)
