"""The whole story, scenario by scenario: attack, then follow the incident to its verified fix.

For each scenario the attack happens through boto3; the detections that the catalog's recorded
examples tie to it are watched on the automation server until the incident ends (an approval in
Slack is clicked as a person would, in the local world only). Each :class:`Outcome` says when the
alert arrived, which ticket and thread it got, what the playbook did, and how long it took from
the attack to the verified fix. Nothing here closes a hole itself: the automation does.

``lab demo`` prints the outcomes; notebook 13 tabulates and plots them.

>>> outcomes = [follow_scenario(name) for name in SCENARIOS]          # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from helpers import detections, simulate, slack
from helpers.automation import api
from helpers.config import Settings, get_settings

__all__ = ["FINAL", "SCENARIOS", "Outcome", "detections_of", "follow_scenario", "restore_keys"]

#: The scenarios with a playbook, in order (the stolen key is disabled last: the others use it).
SCENARIOS = (
    "sg-open-world",
    "cloudtrail-stop",
    "cloudtrail-event-selectors",
    "s3-public",
    "s3-block-public-access-removed",
    "guardduty-disabled",
    "config-stopped",
    "access-key-for-other-user",
    "key-from-abroad",
)
FINAL = {"verified", "failed", "dismissed", "exempt"}
KEY_SCENARIO = "key-from-abroad"


@dataclass
class Outcome:
    scenario: str
    detection: str = "-"
    detected: float | None = None  # seconds from the attack to the alert's arrival
    ticket: str = "-"
    thread: str = "-"
    action: str = "-"
    state: str = "not seen"
    fixed: float | None = None  # seconds from the attack to the verified fix
    dedup_key: str = ""
    steps: list[dict] = field(default_factory=list)  # the timeline since the attack

    def as_dict(self) -> dict:
        return asdict(self)


def detections_of(scenario: str) -> set[str]:
    """The catalog detections whose recorded examples come from ``scenario``."""
    return {
        d.id for d in detections.load() for example in d.positives if example.scenario == scenario
    }


def _incidents(found: list[dict], wanted: set[str], since: float) -> list[dict]:
    """The scenario's incidents: touched since the attack, or still waiting for a person (an
    earlier attack with the same key raised it, and the detection's throttle holds repeats)."""
    return [
        i
        for i in found
        if i["detection"] in wanted
        and (i["updated"] >= since or i["state"] == "waiting_for_approval")
    ]


def _update(outcome: Outcome, incident: dict, since: float) -> None:
    outcome.detection = incident["detection"]
    outcome.dedup_key = incident["dedup_key"]
    outcome.state = incident["state"]
    outcome.ticket = incident["ticket"] or "-"
    outcome.thread = (incident["slack"] or {}).get("ts", "-")
    outcome.steps = [s for s in incident["timeline"] if s["at"] >= since]
    seen = next((s["at"] for s in outcome.steps if s["step"] in ("received", "seen-again")), None)
    outcome.detected = (seen - since) if seen else None
    if incident["actions"]:
        last = incident["actions"][-1]
        outcome.action = f"{last['playbook']} ({last['mode']})"
    done = next((s["at"] for s in outcome.steps if s["state"] == "verified"), None)
    outcome.fixed = (done - since) if done else None


def approve_in_slack(
    incident: dict, settings: Settings, user: str = "alice", timeout: float = 0.0
) -> bool:
    """Click Approve on the approval request in the incident's thread (the local world),
    waiting up to ``timeout`` seconds for the request to be posted; whether it was clicked."""
    thread = incident.get("slack")
    if not thread:
        return False
    client = slack.web_client(settings)
    deadline = time.monotonic() + timeout
    while (note := slack.find_approval(thread["channel"], thread["ts"], client)) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
    request_url = f"{settings.require('automation_url').rstrip('/')}/slack/actions"
    slack.click_button(note, slack.ACTION_APPROVE, user=user, request_url=request_url,
                       settings=settings)  # fmt: skip
    return True


def follow_scenario(
    name: str,
    settings: Settings | None = None,
    *,
    timeout: float = 30.0,
    approve: bool = True,
    say: Callable[[str], None] = lambda text: None,
) -> Outcome:
    """Attack with scenario ``name`` and follow its incident until it ends (or ``timeout``)."""
    settings = settings or get_settings()
    attacked = time.time()
    try:
        simulate.run(name, settings)
    except Exception as err:  # a leftover from an earlier run, a missing permission...
        say(f"the scenario failed: {err}")
        return Outcome(name, state="attack failed")
    outcome, wanted = Outcome(name), detections_of(name)
    deadline, clicked = time.time() + timeout, False
    while time.time() < deadline:
        found = _incidents(api.incident_rows(settings=settings, limit=1000), wanted, attacked)
        if found:
            incident = api.incident(found[0]["dedup_key"], settings)
            _update(outcome, incident, attacked)
            if approve and incident["state"] == "waiting_for_approval" and not clicked:
                clicked = approve_in_slack(incident, settings)
                if clicked:
                    say("alice clicked Approve in the Slack thread")
            if incident["state"] in FINAL:
                return outcome
        time.sleep(0.2)
    if outcome.state == "not seen":
        say(f"no incident within {timeout:.0f}s (a repeat within the detection's throttle "
            "window does not alert again; see the Splunk alerts page)")  # fmt: skip
    return outcome


def restore_keys(outcomes: list[Outcome], settings: Settings | None = None) -> list[str]:
    """Roll back the disabled stolen key, so the scenarios can run again; what was done."""
    return [
        api.rollback(o.dedup_key, who="the story", settings=settings)
        for o in outcomes
        if o.scenario == KEY_SCENARIO and o.state == "verified" and o.dedup_key
    ]
