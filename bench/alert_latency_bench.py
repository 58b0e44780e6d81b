"""Benchmark: scenario-to-webhook latency, the detection half of the lab end to end.

A private local world is started on free ports (emulated AWS with the CloudTrail recorder, the
Splunk stand-in, the ingest service...). The detection catalog is installed as real-time alerts
whose webhook points at a local receiver (``helpers.receivers.Receiver``), with throttling off so
every run can fire. Each scenario then runs ``--runs`` times, timed from just before the attack's
first API call to the webhook's arrival:

    simulate (boto3) -> CloudTrail recorder (delivers every second) -> trail bucket -> S3
    notification -> SNS -> SQS -> helpers.ingest -> HEC -> real-time alert -> webhook

and is reverted (untimed) before the next run. Baseline in the same run: one matching CloudTrail
record sent straight to HEC, timed to its webhook (what the Splunk side alone costs). Figures:
p50/p95 per scenario and overall; aim (issue 4): p95 under 3 s with 1 s CloudTrail delivery.

When the world has no ingest service, only the baseline (HEC index to webhook) is measured, and
the report says so.

    .venv/bin/python bench/alert_latency_bench.py [--runs 20] [--scenarios sg-open-world,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from helpers import cloudtrail, simulate, splunk
from helpers.config import get_settings
from helpers.receivers import Receiver
from labstack.services import all_services
from labstack.world import World

#: Scenario -> the detection that answers it (all real-time in the catalog).
SCENARIOS = {
    "sg-open-world": "security-group-open-to-world",
    "cloudtrail-stop": "cloudtrail-logging-stopped",
    "key-from-abroad": "access-key-used-from-unexpected-country",
    "s3-block-public-access-removed": "s3-public-access-block-removed",
}
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "sample_cloudtrail"
#: Bounds a run that never fires (a failure, reported), not a speed limit.
WAIT = 30.0


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _summary(values: list[float]) -> dict:
    return {
        "runs": len(values),
        "p50_s": round(statistics.median(values), 3),
        "p95_s": round(_percentile(values, 95), 3),
        "max_s": round(max(values), 3),
    }


def _start_world() -> World:
    home = Path(tempfile.mkdtemp(prefix="lab-bench-alerts-")) / ".lab"
    world = World(home, free_ports=True)
    world.up()
    os.environ.update(world.read_env())
    os.environ["LAB_HOME"] = str(home)
    get_settings.cache_clear()
    return world


def _wait_for(receiver: Receiver, detection: str, seen: set[str], started: float) -> float:
    """Seconds from ``started`` to the first new webhook of ``detection``."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for item in list(receiver.received):
            result = item.payload.get("result", {})
            key = result.get("eventID") or item.payload.get("sid")
            if item.time < started:  # a leftover of an earlier run (several calls fire)
                seen.add(key)
            elif item.payload.get("search_name") == detection and key not in seen:
                seen.add(key)
                return item.time - started
        time.sleep(0.002)
    raise TimeoutError(f"{detection}: no webhook within {WAIT} s")


def _baseline(receiver: Receiver, seen: set[str], runs: int) -> list[float]:
    """HEC to webhook: a recorded sg-open-world record, made new, sent straight to HEC."""
    record = next(
        r
        for r in cloudtrail.read_files(SAMPLES / "sg-open-world")
        if r["eventName"] == "AuthorizeSecurityGroupIngress"
    )
    out = []
    for _ in range(runs):
        fresh = dict(record, eventID=str(uuid.uuid4()))
        fresh["eventTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        started = time.time()
        splunk.send_events([fresh], sourcetype="aws:cloudtrail", time_field="eventTime")
        out.append(_wait_for(receiver, "security-group-open-to-world", seen, started))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    has_ingest = "ingest" in {s.name for s in all_services()}
    world = _start_world()
    report: dict = {"runs_per_scenario": args.runs, "ingest_service": has_ingest}
    try:
        with Receiver() as receiver:
            service = splunk.connect()
            splunk.install_detections(receiver.url, service=service)
            for saved in service.saved_searches:
                if saved.name in SCENARIOS.values():
                    saved.update(**{"alert.suppress": "0"})  # every run must be able to fire
            seen: set[str] = set()
            report["baseline_hec_to_webhook"] = _summary(_baseline(receiver, seen, args.runs))
            if has_ingest:
                everything = []
                for name in args.scenarios.split(","):
                    detection = SCENARIOS[name]
                    latencies, acting = [], []
                    for _ in range(args.runs):
                        started = time.time()
                        result = simulate.run(name)
                        acting.append(time.time() - started)
                        latencies.append(_wait_for(receiver, detection, seen, started))
                        if simulate.get(name).revert is not None:
                            simulate.revert(result)
                    report[name] = _summary(latencies)
                    # how much of it is the scenario's own boto3 calls (finding its target...)
                    report[name]["simulate_p50_s"] = round(statistics.median(acting), 3)
                    everything += latencies
                report["all_scenarios"] = _summary(everything)
                ratio = (
                    report["all_scenarios"]["p50_s"] / report["baseline_hec_to_webhook"]["p50_s"]
                )
                report["p50_ratio_scenario_vs_hec"] = round(ratio, 1)
            else:
                report["note"] = (
                    "no ingest service registered: only HEC-index-to-webhook latency measured"
                )
    finally:
        world.down()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
