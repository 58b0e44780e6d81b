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

from labstack.world import World


def _step(text: str) -> None:
    print(f"\n==> {text}")


def run(world: World, timeout: float = 30.0, scenarios: tuple[str, ...] | None = None) -> int:
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

    from helpers import simulate
    from helpers.automation import story

    outcomes = []
    for name in scenarios or story.SCENARIOS:
        _step(f"attack: {name} ({simulate.get(name).description})")
        outcome = story.follow_scenario(
            name, settings, timeout=timeout, say=lambda text: print(f"    {text}")
        )
        outcomes.append(outcome)
        if outcome.state != "attack failed":
            print(f"    {outcome.detection}: {outcome.state} (ticket {outcome.ticket})")
    for result in story.restore_keys(outcomes, settings):
        print(f"\n    rollback, so the demo can run again: {result}")
    _table(outcomes)
    base = settings.require("automation_url")
    print(f"\n    incidents:  {base}/   (or: lab incidents)")
    slack_view = settings.require("slack_api_url").rstrip("/").removesuffix("/api")
    print(f"    tickets:    {settings.jira_url}/board   messages: {slack_view}/")
    print("    notebooks:  .venv/bin/jupyter lab notebooks/")
    waiting = story.FINAL | {"waiting_for_approval"}
    return 0 if all(o.state in waiting for o in outcomes) else 1


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _table(outcomes) -> None:
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
