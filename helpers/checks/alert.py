"""Exercise 04: save the detection as a real-time alert whose webhook is the automation server.

:func:`setup` removes the exercise's alert from an earlier run (so its throttle starts afresh)
and hands out the detection's search. :func:`check_configured` reads the saved search's
settings through splunklib; :func:`check_fired` waits, after the attack, for Splunk to have
fired it, delivered its webhook and for the automation server to hold the incident.

>>> search = setup("Exercise 04")                                   # doctest: +SKIP
>>> check_configured("Exercise 04").passed                          # doctest: +SKIP
True
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from helpers import detections, simulate, splunk
from helpers.automation import api
from helpers.checks import Hint, check
from helpers.checks.approval import reactivate_attacker_key
from helpers.config import Settings, get_settings

__all__ = ["SCENARIO", "check_configured", "check_fired", "cleanup", "setup"]

DETECTION = "security-group-open-to-world"
SCENARIO = "sg-open-world"
#: Seconds to wait for the alert to fire and its webhook to be delivered, then for the incident.
FIRE_WAIT = 60.0
INCIDENT_WAIT = 20.0
POLL = 0.5


def setup(name: str, settings: Settings | None = None) -> str:
    """Delete the exercise's alert if an earlier run left it; return the detection's search."""
    service = splunk.connect(settings)
    if name in service.saved_searches:
        service.saved_searches.delete(name)
    reactivate_attacker_key(settings)  # the attack uses the developer's stolen key
    return detections.get(DETECTION).search


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@check
def check_configured(name: str) -> str:
    """A scheduled real-time alert, per result, throttled per group, posting to the automation."""
    service = splunk.connect()
    if name not in service.saved_searches:
        raise Hint(
            f"there is no saved search named {name!r} yet: create it with "
            "service.saved_searches.create(name, search, **attributes)"
        )
    saved = service.saved_searches[name].content
    problems = []
    if "AuthorizeSecurityGroupIngress" not in saved.get("search", ""):
        problems.append("its search is not the detection: save the search setup() gave you")
    if not _flag(saved.get("is_scheduled")) or _flag(saved.get("disabled")):
        problems.append("it is not scheduled (is_scheduled) or it is disabled, so it never runs")
    if (saved.get("dispatch.earliest_time"), saved.get("dispatch.latest_time")) != ("rt", "rt"):
        problems.append(
            "it must look at each event as it arrives: a real-time search (the dispatch "
            "earliest and latest times)"
        )
    if saved.get("alert_type") != "always" or str(saved.get("alert.digest_mode")) != "0":
        problems.append(
            "it must trigger once per result (alert_type, alert.digest_mode), so each group is "
            "its own incident"
        )
    fields = {f.strip() for f in str(saved.get("alert.suppress.fields") or "").split(",")}
    if not _flag(saved.get("alert.suppress")) or "resource" not in fields:
        problems.append(
            "throttle repeats per security group: alert.suppress, its period, and its fields "
            "(the field that names the group)"
        )
    if not _flag(saved.get("alert.track")):
        problems.append("track its triggers (alert.track), so Splunk lists them as fired alerts")
    actions = {a.strip() for a in str(saved.get("actions") or "").split(",")}
    url = get_settings().require("automation_splunk_webhook_url", "the automation's webhook")
    if "webhook" not in actions:
        problems.append("its action must be the webhook (actions)")
    elif saved.get("action.webhook.param.url") != url:
        problems.append(
            "the webhook URL is not the automation server's: it is the secret setting "
            "automation_splunk_webhook_url (settings.require), never printed"
        )
    if problems:
        raise Hint(*problems)
    period = saved.get("alert.suppress.period")
    return (
        f"{name!r} is a real-time alert, once per result, throttled per security group for "
        f"{period}, posting to the automation server"
    )


def _fired(service, name: str, since: float) -> dict | None:
    """The newest trigger of the alert since ``since`` (epoch seconds), if any."""
    fired = [a.content for a in service.saved_searches[name].fired_alerts.list()]
    recent = [a for a in fired if float(a.get("trigger_time", 0)) >= since]
    return max(recent, key=lambda a: float(a["trigger_time"]), default=None)


def _in_flight(fired: dict) -> bool:
    """The webhook is still on its way: not delivered yet, and no attempt has failed."""
    return fired.get("webhook_status") == "pending" and not fired.get("webhook_http_status")


@check
def check_fired(name: str, attack) -> str:
    """After the attack, Splunk fired the alert, delivered its webhook, and the automation server
    holds an incident for the attacked group."""
    service = splunk.connect()
    if name not in service.saved_searches:
        raise Hint(f"there is no saved search named {name!r} to fire: finish the task above")
    if attack is None or "group_id" not in getattr(attack, "resources", {}):
        raise Hint("there was no attack to detect: run the attack cell above")
    group, since = attack.resources["group_id"], int(attack.started.timestamp()) - 1
    deadline = time.monotonic() + FIRE_WAIT
    while not (fired := _fired(service, name, since)) or _in_flight(fired):
        if time.monotonic() > deadline:
            if fired:
                raise Hint("Splunk fired the alert but could not deliver the webhook yet")
            raise Hint(
                f"{name!r} did not fire within {FIRE_WAIT:.0f}s of the attack: is it real-time, "
                "scheduled and tracked? (check_configured says)"
            )
        time.sleep(POLL)
    status = fired.get("webhook_status")
    if status is None:
        raise Hint("Splunk fired the alert, but it has no webhook action to call the automation")
    if status != "delivered":
        code = fired.get("webhook_http_status") or "no answer"
        raise Hint(
            f"Splunk fired the alert, but the automation server did not take the webhook (HTTP "
            f"{code}): is its URL the automation server's, token and all?"
        )
    deadline = time.monotonic() + INCIDENT_WAIT
    while not (found := _incident(group, attack.started.timestamp())):
        if time.monotonic() > deadline:
            raise Hint(
                f"the webhook was delivered, but the automation server has no incident for "
                f"{group}: does each result carry the incident fields (the detection's search)?"
            )
        time.sleep(POLL)
    ticket = f", ticket {found['ticket']}" if found.get("ticket") else ""
    return (
        f"Splunk fired {name!r} for {group}; the automation server holds incident "
        f"{found['dedup_key']} ({found['state']}{ticket})"
    )


def _incident(group: str, since: float) -> dict | None:
    rows = api.incidents().to_dict("records")
    return next(
        (r for r in rows if r.get("resource") == group and r["updated"].timestamp() >= since), None
    )


def cleanup(name: str, attack, settings: Settings | None = None) -> None:
    """Delete the exercise's alert and undo the attack (if the automation has not already)."""
    service = splunk.connect(settings)
    if name in service.saved_searches:
        service.saved_searches.delete(name)
    if attack is None:
        return
    try:
        simulate.revert(attack, settings)
    except ClientError as err:
        if err.response["Error"]["Code"] != "InvalidPermission.NotFound":
            raise
