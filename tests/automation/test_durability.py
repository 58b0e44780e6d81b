"""Nothing acknowledged is lost: a SIGKILL mid-burst, a Jira outage, Slack rate limits.

A sender here behaves as Splunk's webhook outbox does: it retries a delivery until the server
acknowledges it (202), so anything the server accepted must end up as exactly one ticket.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from labstack import services

pytestmark = pytest.mark.stack

BURST = 1000
DUPLICATES = 300  # 30%: half Splunk retries (same sid), half the same resource alerting again


def _row(detection: str, resource: str) -> dict:
    return {"detection": detection, "severity": "medium", "playbook": "notify-only",
            "resource": resource, "account": "123456789012",
            "dedup_key": f"{detection}:{resource}:123456789012"}  # fmt: skip


def _deliver(wired, row: dict, sid: str, deadline: float) -> None:
    """POST until acknowledged, as Splunk's outbox would (the server may be down a while)."""
    http = requests.Session()
    http.trust_env = False
    body = {"sid": sid, "search_name": row["detection"], "result": row}
    while True:
        try:
            if http.post(wired.hook, json=body, timeout=5).status_code == 202:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"alert {sid} was never acknowledged")
        time.sleep(0.1)


def _automation_pid(wired) -> int:
    return wired.world.status(services.get("automation")).pid


def _tickets_with_label(wired, label: str) -> list[str]:
    client = wired.jira()
    keys, start = [], 0
    while True:
        page = client.search_issues(f"labels = {label}", startAt=start, maxResults=100,
                                    fields="summary")  # fmt: skip
        keys += [issue.key for issue in page]
        if len(page) < 100:
            return keys
        start += 100


def test_a_burst_with_duplicates_and_a_sigkill_loses_nothing_and_duplicates_nothing(wired):
    detection = f"burst-{uuid.uuid4().hex[:8]}"
    unique = [_row(detection, f"res-{n:04d}") for n in range(BURST - DUPLICATES)]
    sends = [(row, f"rt_burst_{n}") for n, row in enumerate(unique)]
    rng = random.Random(7)
    for n in range(DUPLICATES):
        row, sid = rng.choice(sends[: len(unique)])
        sends.append((row, sid if n % 2 else f"rt_burst_repeat_{n}"))
    rng.shuffle(sends)
    deadline = time.monotonic() + 240
    killed = threading.Event()
    done = [0]
    lock = threading.Lock()

    def send(item):
        _deliver(wired, item[0], item[1], deadline)
        with lock:
            done[0] += 1
            if done[0] == BURST // 2 and not killed.is_set():
                killed.set()
                os.kill(_automation_pid(wired), signal.SIGKILL)

    def restart():
        killed.wait(120)
        time.sleep(0.5)  # let senders meet the dead port for a moment
        wired.world.up()

    restarter = threading.Thread(target=restart)
    restarter.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, sends))
    restarter.join()
    assert killed.is_set()
    keys = {row["dedup_key"] for row in unique}
    wired.wait(
        lambda: len([i for i in wired.incidents(limit=1000) if i["detection"] == detection
                     and i["ticket"] and i["slack"]]) == len(keys),
        timeout=240,
        what=f"{len(keys)} incidents with tickets and threads",
    )  # fmt: skip
    incidents = [i for i in wired.incidents(limit=1000) if i["detection"] == detection]
    assert {i["dedup_key"] for i in incidents} == keys  # 0 lost
    tickets = [i["ticket"] for i in incidents]
    assert len(set(tickets)) == len(keys)  # one ticket each
    assert sorted(_tickets_with_label(wired, detection)) == sorted(tickets)  # and no strays
    assert len({i["slack"]["ts"] for i in incidents}) == len(keys)
    assert wired.queue()["dead"] == 0


def _jira_fault(wired, seconds: float) -> None:
    http = requests.Session()
    http.trust_env = False
    resp = http.put(
        f"{wired.env['JIRA_URL']}/_lab/faults",
        json={"unavailable_seconds": seconds},
        auth=(wired.env["JIRA_USER"], wired.env["JIRA_TOKEN"]),
        timeout=10,
    )
    resp.raise_for_status()


def _outage_left(wired) -> float:
    http = requests.Session()
    http.trust_env = False
    resp = http.get(f"{wired.env['JIRA_URL']}/_lab/faults", timeout=10,
                    auth=(wired.env["JIRA_USER"], wired.env["JIRA_TOKEN"]))  # fmt: skip
    return resp.json()["unavailable_seconds"]


def test_a_jira_outage_of_30_seconds_is_ridden_out(wired):
    detection = f"outage-{uuid.uuid4().hex[:8]}"
    rows = [_row(detection, f"res-{n}") for n in range(20)]
    _jira_fault(wired, 30)
    for n, row in enumerate(rows):
        assert wired.post_alert(row, sid=f"rt_outage_{n}").status_code == 202
    mine = wired.wait(
        lambda: [i for i in wired.incidents(limit=1000) if i["detection"] == detection],
        timeout=25,
        what="the first incidents received during the outage",
    )
    if _outage_left(wired) > 1:  # while Jira is down nothing can have a ticket
        assert not any(i["ticket"] for i in mine)
    wired.wait(
        lambda: len([i for i in wired.incidents(limit=1000)
                     if i["detection"] == detection and i["ticket"]]) == len(rows),
        timeout=180,
        what="every incident's ticket after the outage",
    )  # fmt: skip
    assert wired.queue()["dead"] == 0
    tickets = {i["ticket"] for i in wired.incidents(limit=1000) if i["detection"] == detection}
    assert len(tickets) == len(rows)


def _slack_faults(wired, **body):
    http = requests.Session()
    http.trust_env = False
    root = wired.env["SLACK_API_URL"].rstrip("/").removesuffix("/api")
    headers = {"Authorization": f"Bearer {wired.env['SLACK_BOT_TOKEN']}"}
    if body:
        http.put(f"{root}/_lab/faults", json=body, headers=headers, timeout=10).raise_for_status()
    return http.get(f"{root}/_lab/faults", headers=headers, timeout=10).json()


def test_slack_rate_limits_are_waited_out_and_the_thread_still_opens(wired):
    row = _row(f"ratelimit-{uuid.uuid4().hex[:8]}", "res-1")
    _slack_faults(wired, rate_limit=4, retry_after=1)
    assert wired.post_alert(row, sid="rt_429").status_code == 202
    incident = wired.wait(
        lambda: (i := wired.incident(row["dedup_key"])) and i["slack"] and i,
        timeout=60,
        what="the Slack thread after the 429s",
    )
    assert _slack_faults(wired)["rate_limit"] == 0  # every 429 was served, then waited out
    assert incident["ticket"]
