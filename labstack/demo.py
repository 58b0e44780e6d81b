"""``lab demo``: start the local world and walk the end-to-end flow as far as it is built.

1. the world comes up (idempotent);
2. the attacker opens RDP to the world on a running instance's security group;
3. the emulated CloudTrail delivers the record to the trail bucket, and S3 -> SNS -> SQS
   announces the new log file; the demo shows both.

Later steps of the flow (Splunk detection, Jira ticket, Slack, remediation) join here as they land.
"""

from __future__ import annotations

import json
import time

from labstack.world import World

SCENARIO = "sg-open-world"


def _step(text: str) -> None:
    print(f"\n==> {text}")


def run(world: World, timeout: float = 30.0) -> int:
    _step("starting the local world")
    started = time.monotonic()
    for running in world.up():
        print(f"    {running.service.name:<8} {running.url}")
    print(f"    healthy in {time.monotonic() - started:.1f}s")
    _load_env(world)

    from helpers import simulate
    from helpers.aws import session
    from helpers.config import get_settings

    settings = get_settings()
    s3 = session(settings).client("s3")
    bucket = settings.require("cloudtrail_bucket")
    before = _last_key(s3, bucket)

    _step(f"attack: {SCENARIO} ({simulate.get(SCENARIO).description})")
    result = simulate.run(SCENARIO, settings)
    print(f"    actor {result.actor['accessKeyId']} from {result.actor['sourceIPAddress']}")
    print(f"    opened port {result.resources['port']} on {result.resources['group_id']}")
    try:
        return _follow(world, settings, result, s3, bucket, before, timeout)
    finally:
        simulate.revert(result, settings)
        print("    (the demo closed the port again, so it can run again)")


def _follow(world, settings, result, s3, bucket, before, timeout) -> int:
    from helpers.aws import session
    from helpers.cloudtrail import read_s3

    _step("waiting for CloudTrail to deliver the record to the trail bucket")
    clock = time.monotonic()
    record = None
    while record is None and time.monotonic() - clock < timeout:
        for candidate in read_s3(s3, bucket, start_after=before):
            if (
                candidate["eventName"] in result.events
                and candidate["sourceIPAddress"] == result.actor["sourceIPAddress"]
            ):
                record = candidate
        time.sleep(0.2)
    if record is None:
        print(f"    no record after {timeout:.0f}s: see `lab status` and {world.log_path('aws')}")
        return 1
    print(f"    delivered after {time.monotonic() - clock:.1f}s:")
    print(_indent(json.dumps(record, indent=2)))

    _step("S3 -> SNS -> SQS: the notification the ingester will read")
    sqs = session(settings).client("sqs")
    url = sqs.get_queue_url(QueueName=settings.require("cloudtrail_queue"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    print(f"    {url}: {attributes['ApproximateNumberOfMessages']} messages waiting")

    _step("done; the world keeps running")
    print("    explore:  .venv/bin/jupyter lab notebooks/   (or: lab status, lab simulate list)")
    print("    stop:     lab down")
    return 0


def _load_env(world: World) -> None:
    import os

    os.environ.update(world.read_env())
    from helpers.config import get_settings

    get_settings.cache_clear()


def _last_key(s3, bucket: str) -> str:
    last = ""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="AWSLogs/"):
        if page.get("Contents"):
            last = page["Contents"][-1]["Key"]
    return last


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
