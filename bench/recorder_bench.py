"""Benchmark: the CloudTrail recorder's overhead, and `lab up` time to healthy.

Two emulated AWS endpoints run side by side in this one run, the same code with the recorder on and
off (``LAB_CLOUDTRAIL_RECORDER=off``). The same mix of API calls is sent to each in alternating
rounds, so machine noise hits both alike; the figure is the ratio of their rates. Aim: the recorder
costs under 10%. Then the whole local world is started from nothing a few times; aim: healthy in
under 5 s.

    .venv/bin/python bench/recorder_bench.py [--calls 300] [--rounds 5] [--ups 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from labstack.process import Process, spawn
from labstack.world import World

ACCESS = {"aws_access_key_id": "AKIAEXAMPLESTUDENT01", "aws_secret_access_key": "bench"}


def _start(record: bool) -> Process:
    state = Path(tempfile.mkdtemp(prefix="lab-bench-aws-")) / "aws"
    return spawn("aws", state, {"LAB_CLOUDTRAIL_RECORDER": "on" if record else "off"}, timeout=30)


def _calls(url: str):
    config = Config(retries={"max_attempts": 1})
    session = boto3.Session(region_name="us-east-1", **ACCESS)
    ec2 = session.client("ec2", endpoint_url=url, config=config)
    s3 = session.client("s3", endpoint_url=url, config=config)
    iam = session.client("iam", endpoint_url=url, config=config)
    sts = session.client("sts", endpoint_url=url, config=config)
    cloudtrail = session.client("cloudtrail", endpoint_url=url, config=config)
    instance = ec2.describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]
    return [
        lambda: ec2.describe_security_groups(),
        lambda: ec2.describe_instances(),
        lambda: s3.list_buckets(),
        lambda: iam.list_users(),
        lambda: sts.get_caller_identity(),
        lambda: cloudtrail.describe_trails(),
        lambda: ec2.create_tags(Resources=[instance], Tags=[{"Key": "bench", "Value": "1"}]),
        lambda: iam.get_user(UserName="developer"),
    ]


def _rate(calls, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        calls[i % len(calls)]()
    return n / (time.perf_counter() - started)


def overhead(calls_per_round: int, rounds: int) -> dict:
    on_proc, off_proc = _start(record=True), _start(record=False)
    on_url, off_url = on_proc.url, off_proc.url
    try:
        on_calls, off_calls = _calls(on_url), _calls(off_url)
        _rate(on_calls, 40), _rate(off_calls, 40)  # warm both up
        ratios, on_rates, off_rates = [], [], []
        for i in range(rounds):
            first, second = (on_calls, off_calls) if i % 2 == 0 else (off_calls, on_calls)
            a, b = _rate(first, calls_per_round), _rate(second, calls_per_round)
            on, off = (a, b) if i % 2 == 0 else (b, a)
            on_rates.append(on)
            off_rates.append(off)
            ratios.append(on / off)
        recent = json.loads(
            urllib.request.build_opener(urllib.request.ProxyHandler({}))
            .open(on_url + "/_lab/cloudtrail/recent?limit=1", timeout=5)
            .read()
        )
    finally:
        for proc in (on_proc, off_proc):
            proc.stop()
    ratio = statistics.median(ratios)
    return {
        "calls_per_second_recorder_on": round(statistics.median(on_rates), 1),
        "calls_per_second_recorder_off": round(statistics.median(off_rates), 1),
        "on_over_off_median": round(ratio, 3),
        "overhead_percent": round((1 - ratio) * 100, 1),
        "records_made": recent["stats"].get("recorded", 0),
        "rounds": rounds,
        "calls_per_round": calls_per_round,
    }


def up_time(times: int) -> dict:
    seconds = []
    for _ in range(times):
        home = Path(tempfile.mkdtemp(prefix="lab-bench-")) / ".lab"
        world = World(home, free_ports=True)
        started = time.perf_counter()
        world.up()
        seconds.append(time.perf_counter() - started)
        world.down()
    return {
        "lab_up_seconds_median": round(statistics.median(seconds), 2),
        "lab_up_seconds": [round(s, 2) for s in seconds],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--ups", type=int, default=3)
    args = parser.parse_args()
    report = {"recorder": overhead(args.calls, args.rounds), "lab_up": up_time(args.ups)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
