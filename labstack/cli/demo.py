"""``lab demo``: start the local world and walk the end-to-end flow as far as it is built.

1. the world comes up (idempotent);
2. the attacker opens RDP to the world on a running instance's security group;
3. the emulated CloudTrail delivers the record to the trail bucket; S3 -> SNS -> SQS announces
   the file, the ingest service sends its records to Splunk's HEC;
4. the detection catalog, installed as real-time Splunk alerts, fires its webhook (here to a small
   local receiver standing in for the automation server).

Later steps of the flow (Jira ticket, Slack, remediation) join here as they land.
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

    from helpers import simulate, splunk
    from helpers.aws import session
    from helpers.config import get_settings
    from helpers.receivers import Receiver

    settings = get_settings()
    receiver = Receiver().start()
    _step("installing the detections as real-time Splunk alerts")
    installed = splunk.install_detections(receiver.url, settings=settings)
    print(f"    {len(installed)} saved searches, webhooks to {receiver.url}")
    s3 = session(settings).client("s3")
    bucket = settings.require("cloudtrail_bucket")
    before = _last_key(s3, bucket)

    _step(f"attack: {SCENARIO} ({simulate.get(SCENARIO).description})")
    result = simulate.run(SCENARIO, settings)
    print(f"    actor {result.actor['accessKeyId']} from {result.actor['sourceIPAddress']}")
    print(f"    opened port {result.resources['port']} on {result.resources['group_id']}")
    try:
        code = _follow(world, settings, result, s3, bucket, before, timeout)
        code = code or _alert(receiver, timeout)
    finally:
        receiver.stop()
        simulate.revert(result, settings)
        print("    (the demo closed the port again, so it can run again)")
    if code == 0:
        _step("done; the world keeps running")
        print(
            "    explore:  .venv/bin/jupyter lab notebooks/   (or: lab status, lab simulate list)"
        )
        print("    stop:     lab down")
    return code


def _follow(world, settings, result, s3, bucket, before, timeout) -> int:
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

    return 0


def _alert(receiver, timeout: float) -> int:
    _step("Splunk: the real-time detection fires its webhook")
    wanted = "security-group-open-to-world"
    clock = time.monotonic()
    try:
        hits = receiver.wait(timeout=timeout, where=lambda p: p.get("search_name") == wanted)
    except TimeoutError:
        print(f"    no {wanted} alert within {timeout:.0f}s: the same incident may be throttled")
        print("    (it fired on an earlier run); see the alerts page of the Splunk service")
        return 0
    result = hits[0]["result"]
    print(f"    {wanted} fired after {time.monotonic() - clock:.1f}s more:")
    for key in ("severity", "resource", "actor", "source_ip", "playbook", "dedup_key"):
        print(f"      {key:<10} {result.get(key)}")
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
