"""``lab demo``: the whole story, for every scenario that has a playbook.

For each scenario: the attack happens through boto3; CloudTrail records it; the record reaches
Splunk through the SQS-based S3 input; a real-time detection fires its webhook at the automation
server; the server opens one Jira ticket and one Slack thread, Jira calls it back, it enriches,
plans, applies the guardrails, remediates and verifies, writing every step to the ticket and the
thread. ``key-from-abroad`` waits for approval: the demo clicks Approve in the local Slack, as a
person would, and at the end rolls the key back so the attacker can run the demo again.

Nothing here closes a hole itself: the automation does. The demo ends with a table of what
happened and how long it took from the attack to the verified fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from labstack.cli.wiring import loopback_session
from labstack.world import World

#: The scenarios the demo runs, in order (the stolen key is disabled last: the others use it).
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


@dataclass
class Outcome:
    scenario: str
    detection: str = "-"
    detected: float | None = None
    ticket: str = "-"
    thread: str = "-"
    action: str = "-"
    state: str = "not seen"
    fixed: float | None = None


def _step(text: str) -> None:
    print(f"\n==> {text}")


def run(world: World, timeout: float = 30.0, scenarios: tuple[str, ...] = SCENARIOS) -> int:
    _step("starting the local world, wired end to end (alert throttles start afresh)")
    started = time.monotonic()
    for running in world.up():
        print(f"    {running.service.name:<10} {running.url}")
    print(f"    healthy in {time.monotonic() - started:.1f}s")
    from labstack.cli import _settings
    from labstack.cli.wiring import wire

    settings = _settings(world)
    for part, text in wire(settings, fresh_alerts=True).items():
        print(f"    wired {part:<10} {text}")

    from helpers import detections, simulate

    by_scenario: dict[str, set[str]] = {}
    for detection in detections.load():
        for example in detection.positives:
            if example.scenario:
                by_scenario.setdefault(example.scenario, set()).add(detection.id)
    http = loopback_session()
    outcomes = []
    for name in scenarios:
        _step(f"attack: {name} ({simulate.get(name).description})")
        attacked = time.time()
        try:
            simulate.run(name, settings)
        except Exception as err:  # a leftover from an earlier run, a missing permission...
            print(f"    the scenario failed: {err}")
            outcomes.append(Outcome(name, state="attack failed"))
            continue
        outcome = _follow(http, settings, name, by_scenario.get(name, set()), attacked, timeout)
        outcomes.append(outcome)
        print(f"    {outcome.detection}: {outcome.state} (ticket {outcome.ticket})")
    _rollback_key(http, settings, outcomes)
    _table(outcomes)
    base = settings.require("automation_url")
    print(f"\n    incidents:  {base}/   (or: lab incidents)")
    slack_view = settings.require("slack_api_url").rstrip("/").removesuffix("/api")
    print(f"    tickets:    {settings.jira_url}/board   messages: {slack_view}/")
    print("    notebooks:  .venv/bin/jupyter lab notebooks/")
    return 0 if all(o.state in FINAL | {"waiting_for_approval"} for o in outcomes) else 1


def _incidents(http, base: str, detections: set[str], since: float) -> list[dict]:
    """The scenario's incidents: touched since the attack, or still waiting for a person (an
    earlier attack with the same key raised it, and the detection's throttle holds repeats)."""
    found = http.get(f"{base}/api/incidents", timeout=10).json()["incidents"]
    return [
        i
        for i in found
        if i["detection"] in detections
        and (i["updated"] >= since or i["state"] == "waiting_for_approval")
    ]


def _follow(http, settings, name: str, detections: set[str], since: float, timeout: float):
    base = settings.require("automation_url")
    outcome = Outcome(name)
    deadline = time.time() + timeout
    clicked = False
    while time.time() < deadline:
        found = _incidents(http, base, detections, since)
        if found:
            incident = http.get(f"{base}/api/incidents/{found[0]['dedup_key']}", timeout=10).json()
            _update(outcome, incident, since)
            if incident["state"] == "waiting_for_approval" and not clicked:
                clicked = _approve(http, settings, incident)
            if incident["state"] in FINAL:
                return outcome
        time.sleep(0.2)
    if outcome.state == "not seen":
        print(f"    no incident within {timeout:.0f}s (a repeat within the detection's throttle")
        print("    window does not alert again; see the Splunk alerts page)")
    return outcome


def _update(outcome: Outcome, incident: dict, since: float) -> None:
    outcome.detection = incident["detection"]
    outcome.state = incident["state"]
    outcome.ticket = incident["ticket"] or "-"
    outcome.thread = (incident["slack"] or {}).get("ts", "-")
    steps = [s for s in incident["timeline"] if s["at"] >= since]
    seen = next((s["at"] for s in steps if s["step"] in ("received", "seen-again")), None)
    outcome.detected = (seen - since) if seen else None
    actions = incident["actions"]
    if actions:
        outcome.action = f"{actions[-1]['playbook']} ({actions[-1]['mode']})"
    done = next((s["at"] for s in steps if s["state"] == "verified"), None)
    outcome.fixed = (done - since) if done else None


def _approve(http, settings, incident: dict) -> bool:
    """Click Approve on the approval request in the incident's Slack thread."""
    from helpers import slack

    thread = incident.get("slack")
    if not thread:
        return False
    client = slack.web_client(settings)
    replies = client.conversations_replies(channel=thread["channel"], ts=thread["ts"])["messages"]
    asks = [m for m in replies if any(b.get("type") == "actions" for b in m.get("blocks", []))]
    if not asks:
        return False
    note = slack.Notification(thread["channel"], asks[-1]["ts"], thread["ts"], False)
    slack.click_button(note, slack.ACTION_APPROVE, user="alice", settings=settings)
    print("    alice clicked Approve in the Slack thread")
    return True


def _rollback_key(http, settings, outcomes: list[Outcome]) -> None:
    """Re-activate the stolen key the automation disabled, so the demo can run again."""
    base = settings.require("automation_url")
    token = settings.require("automation_token")
    for outcome in outcomes:
        if outcome.scenario == "key-from-abroad" and outcome.state == "verified":
            found = _incidents(http, base, {outcome.detection}, 0)
            if not found:
                continue
            resp = http.post(
                f"{base}/api/incidents/{found[0]['dedup_key']}/rollback",
                headers={"Authorization": f"Bearer {token}", "X-Lab-User": "lab demo"},
                timeout=30,
            )
            print(f"\n    rollback, so the demo can run again: {resp.json().get('result')}")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _table(outcomes: list[Outcome]) -> None:
    _step("what happened")
    head = ("scenario", "detected", "ticket", "thread", "action", "state", "attack->fixed")
    rows = [
        (o.scenario, _seconds(o.detected), o.ticket, o.thread, o.action, o.state,
         _seconds(o.fixed))
        for o in outcomes
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]
    for row in (head, *rows):
        print("    " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
