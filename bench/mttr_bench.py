"""Benchmark: mean time to remediate, from the attack to the verified fix, the whole lab end to end.

A private local world is started on free ports (``World.scratch()``) and wired as ``lab demo``
wires it (``labstack.cli.wiring.wire(settings, fresh_alerts=True)``: detections alert the
automation server, Jira and Slack call it back). Each scenario with a playbook then runs
``--runs`` times, timed from just before the attack's first API call to the incident's
``verified`` step in the automation server's ``/api/incidents`` API:

    simulate (boto3) -> CloudTrail recorder (delivers every second) -> S3 -> SNS -> SQS ->
    ingest -> HEC -> real-time alert -> webhook -> automation: incident, Jira ticket, Slack
    thread -> Jira webhook -> enrich -> plan -> guardrails (auto) -> apply -> verify

Detections throttle repeats per resource (15 minutes to an hour), so the world is re-wired with
``fresh_alerts=True`` before every round (untimed). The policy's rate limit (20 actions per
playbook per hour) would switch the automation to "approve" within a 20-run benchmark, so the
world's automation reads a copy of the policy with a higher limit (``AUTOMATION_POLICY``); the
modes are the repository's (every scenario here is ``auto`` locally).

Baseline in the same run, before the world is wired (so nothing else reacts): the same attack,
then the playbook called directly from the library (plan, apply, verify): what the fix itself
costs, without detection, ticketing and the Jira round trip. Figures: p50/p95 per scenario and
overall, printed as a table (and ``--json``); aim (issue 10): p95 under 3 s.

    .venv/bin/python bench/mttr_bench.py [--runs 20] [--scenarios sg-open-world,...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from helpers.config import get_settings

#: Scenario -> (its playbook, the scenario result's resource naming what the detection alerts on).
SCENARIOS = {
    "sg-open-world": ("revoke-security-group-ingress", "group_id"),
    "cloudtrail-stop": ("restart-cloudtrail-logging", "trail_name"),
    "cloudtrail-event-selectors": ("restart-cloudtrail-logging", "trail_name"),
    "s3-public": ("block-s3-public-access", "bucket"),
    "s3-block-public-access-removed": ("block-s3-public-access", "bucket"),
    "guardduty-disabled": ("re-enable-guardduty", "detector_id"),
    "config-stopped": ("restart-config-recorder", "recorder_name"),
}
#: Bounds a run that never verifies (a failure, reported), not a speed limit.
WAIT = 45.0
#: The automation's rate limit for the benchmark (the repository's 20 per hour would trip).
BENCH_RATE_LIMIT = 10_000


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _summary(values: list[float], failures: int = 0) -> dict:
    if not values:
        return {"runs": 0, "failed": failures}
    return {
        "runs": len(values),
        "failed": failures,
        "p50_s": round(statistics.median(values), 3),
        "p95_s": round(_percentile(values, 95), 3),
        "max_s": round(max(values), 3),
    }


def _bench_policy(folder: Path) -> Path:
    from helpers.playbooks.guardrails import DEFAULT_POLICY, Policy

    doc = yaml.safe_load(DEFAULT_POLICY.read_text())
    doc["rate_limit_per_hour"] = {"default": BENCH_RATE_LIMIT}
    path = folder / "bench-policy.yml"
    path.write_text(yaml.safe_dump(doc))
    Policy.load(path)  # refuse a broken copy here, not in the server
    return path


def _direct(name: str, settings) -> float:
    """Baseline: the attack, then the playbook from the library; seconds to verified."""
    from helpers import playbooks, simulate
    from helpers.clients import Clients
    from helpers.incident import Incident

    playbook_name, field = SCENARIOS[name]
    playbook = playbooks.get(playbook_name)
    clients = Clients(settings)
    started = time.time()
    result = simulate.run(name, settings)
    incident = Incident(name, str(result.resources[field]), "123456789012")
    playbook.apply(playbook.plan(incident, clients), clients)
    verification = playbook.verify(incident, clients)
    elapsed = time.time() - started
    if not verification.ok:
        raise RuntimeError(f"{name}: not verified: {verification.details}")
    return elapsed


def _pipeline(name: str, settings) -> float:
    """The attack, then waiting for the automation to verify the fix; seconds to verified."""
    from helpers.automation import story

    outcome = story.follow_scenario(name, settings, timeout=WAIT)
    if outcome.state != "verified" or outcome.fixed is None:
        raise RuntimeError(f"{name}: ended {outcome.state!r}, not verified")
    return outcome.fixed


def _table(report: dict) -> None:
    head = ("scenario", "verified", "failed", "direct p50", "direct p95",
            "attack->verified p50", "p95", "max")  # fmt: skip
    rows = []
    for name, row in report["scenarios"].items():
        direct, full = row["direct"], row["pipeline"]
        rows.append(
            (
                name,
                str(full.get("runs", 0)),
                str(full.get("failed", 0)),
                *(f"{d[k]:.2f}s" if k in d else "-" for d in (direct,) for k in ("p50_s", "p95_s")),
                *(f"{full[k]:.2f}s" if k in full else "-" for k in ("p50_s", "p95_s", "max_s")),
            )
        )
    overall = report["all_scenarios"]
    rows.append(
        (
            "all",
            str(overall["pipeline"].get("runs", 0)),
            str(overall["pipeline"].get("failed", 0)),
            *(f"{overall['direct'].get(k, 0):.2f}s" for k in ("p50_s", "p95_s")),
            *(f"{overall['pipeline'].get(k, 0):.2f}s" for k in ("p50_s", "p95_s", "max_s")),
        )
    )
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    for row in (head, *rows):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--json", action="store_true", help="print the report as JSON too")
    args = parser.parse_args()
    names = [n for n in args.scenarios.split(",") if n]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"no playbook-backed scenario {unknown}; known: {', '.join(SCENARIOS)}")

    from labstack.cli.wiring import wire
    from labstack.world import World

    folder = Path(tempfile.mkdtemp(prefix="lab-bench-mttr-"))
    os.environ["AUTOMATION_POLICY"] = str(_bench_policy(folder))  # the world's services inherit it
    report: dict = {"runs_per_scenario": args.runs, "rate_limit_per_hour": BENCH_RATE_LIMIT}
    direct: dict[str, list[float]] = {n: [] for n in names}
    full: dict[str, list[float]] = {n: [] for n in names}
    failed: dict[str, int] = dict.fromkeys(names, 0)
    errors: list[str] = []
    with World.scratch(folder / ".lab") as world:
        os.environ.update(world.read_env())
        os.environ["LAB_HOME"] = str(world.home)
        get_settings.cache_clear()
        settings = get_settings()
        for _ in range(args.runs):  # the baseline, before anything alerts the automation
            for name in names:
                direct[name].append(_direct(name, settings))
        _drain(settings)  # the baseline's own events must not alert once the alerts exist
        for round_ in range(1, args.runs + 1):
            wire(settings, fresh_alerts=True)  # throttles start afresh (untimed)
            for name in names:
                try:
                    full[name].append(_pipeline(name, settings))
                except Exception as err:  # one failed run is a figure too, not the end
                    failed[name] += 1
                    errors.append(f"round {round_}: {err}")
    report["scenarios"] = {
        n: {"direct": _summary(direct[n]), "pipeline": _summary(full[n], failed[n])} for n in names
    }
    report["all_scenarios"] = {
        "direct": _summary([v for n in names for v in direct[n]]),
        "pipeline": _summary([v for n in names for v in full[n]], sum(failed.values())),
    }
    if errors:
        report["errors"] = errors[:10]
    print(f"MTTR, attack -> verified fix, {args.runs} run(s) per scenario (local world)\n")
    _table(report)
    if errors:
        print("\nfailures (first 10):\n  " + "\n  ".join(errors[:10]))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _drain(settings, quiet: float = 3.0, limit: float = 60.0) -> None:
    """Wait until CloudTrail has delivered everything and the trail queue has stayed empty for
    ``quiet`` seconds (the ingest has sent it all to Splunk)."""
    from helpers import simulate
    from helpers.aws import session

    simulate.flush(settings)
    sqs = session(settings).client("sqs")
    url = sqs.get_queue_url(QueueName=settings.require("cloudtrail_queue"))["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline, empty_since = time.monotonic() + limit, None
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if all(attrs.get(n) == "0" for n in names):
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= quiet:
                return
        else:
            empty_since = None
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
