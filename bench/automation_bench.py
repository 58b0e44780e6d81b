"""Benchmark: the automation server's intake rate and its alert-to-ticket latency.

A private local world is started on free ports and wired (Jira, Slack, the automation server).

1. Intake: ``--alerts`` Splunk webhook alerts (distinct incidents) are POSTed by ``--senders``
   concurrent senders; each is persisted on the durable inbox before the 202. Baseline in the
   same run: the same senders against a bare WSGI handler that answers 200, served by the same
   ``helpers.runtime.serve`` stack. Aim (issue 9): at least half the baseline's rate.
2. Latency: ``--latency`` alerts, one at a time, each timed from the POST to the moment the
   incident's Jira ticket is recorded (seen through ``/api/incidents/<key>``). Aim: p95 < 1 s.

    .venv/bin/python bench/automation_bench.py [--alerts 2000] [--senders 8] [--latency 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from helpers.runtime.serve import Server
from labstack.world import World


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    return [b"{}"]


def _row(tag: str, n: int) -> dict:
    resource = f"bench-{tag}-{n}"
    return {"detection": f"bench-{tag}", "severity": "low", "playbook": "notify-only",
            "resource": resource, "account": "123456789012",
            "dedup_key": f"bench-{tag}:{resource}:123456789012"}  # fmt: skip


def _rate(url: str, bodies: list[dict], senders: int) -> float:
    """Requests per second that ``senders`` keep-alive clients get answered (2xx)."""
    local = {}

    def session() -> requests.Session:
        import threading

        key = threading.get_ident()
        if key not in local:
            local[key] = requests.Session()
            local[key].trust_env = False
        return local[key]

    def post(body: dict) -> None:
        resp = session().post(url, json=body, timeout=30)
        if resp.status_code >= 300:
            raise RuntimeError(f"{url} answered {resp.status_code}: {resp.text[:200]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(post, bodies))
    return len(bodies) / (time.perf_counter() - start)


def _drain(env: dict, limit: float = 900.0) -> float:
    """Seconds until the inbox is empty (the workers caught up with the burst)."""
    http = requests.Session()
    http.trust_env = False
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        counts = http.get(f"{env['AUTOMATION_URL']}/api/queue", timeout=10).json()["inbox"]
        if counts["ready"] == 0 and counts["in_flight"] == 0:
            return time.perf_counter() - start
        time.sleep(0.2)
    raise RuntimeError(f"the inbox did not drain within {limit:.0f} s")


def _latency(env: dict, count: int) -> list[float]:
    http = requests.Session()
    http.trust_env = False
    tag = uuid.uuid4().hex[:6]
    times = []
    for n in range(count):
        row = _row(f"lat{tag}", n)
        body = {"sid": f"rt_lat_{n}", "search_name": row["detection"], "result": row}
        start = time.perf_counter()
        http.post(env["AUTOMATION_SPLUNK_WEBHOOK_URL"], json=body, timeout=10)
        url = f"{env['AUTOMATION_URL']}/api/incidents/{row['dedup_key']}"
        while True:
            resp = http.get(url, timeout=10)
            if resp.status_code == 200 and resp.json()["ticket"]:
                times.append(time.perf_counter() - start)
                break
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"no ticket for {row['dedup_key']} after 30 s")
            time.sleep(0.005)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--latency", type=int, default=50)
    args = parser.parse_args(argv)
    from helpers.config import Settings
    from labstack.cli.wiring import wire

    with World.scratch() as world:  # a temporary home, removed afterwards
        env = world.read_env()
        wire(Settings(_env_file=None, **{k.lower(): v for k, v in env.items()}))
        tag = uuid.uuid4().hex[:6]
        bodies = [
            {"sid": f"rt_{tag}_{n}", "search_name": "bench", "result": _row(tag, n)}
            for n in range(args.alerts)
        ]
        with Server(_ok, name="baseline") as bare:
            _rate(bare.url + "/warm", bodies[:200], args.senders)
            baseline = _rate(bare.url + "/hook", bodies, args.senders)
        started = time.perf_counter()
        intake = _rate(env["AUTOMATION_SPLUNK_WEBHOOK_URL"], bodies, args.senders)
        _drain(env)
        worked = args.alerts / (time.perf_counter() - started)
        latencies = _latency(env, args.latency)
    print(f"automation bench: {args.alerts} alerts, {args.senders} senders (2 cores, shared)")
    print(f"{'':<34}{'per second':>12}")
    print(f"{'bare WSGI 200 (baseline)':<34}{baseline:>12.0f}")
    print(f"{'automation: persisted, then 202':<34}{intake:>12.0f}")
    print(f"{'ratio (aim >= 0.5)':<34}{intake / baseline:>12.2f}")
    print(f"{'incidents worked (ticket+thread)':<34}{worked:>12.1f}")
    print(f"\nalert -> ticket over {len(latencies)} alerts, one at a time")
    print(f"  p50 {statistics.median(latencies) * 1000:.0f} ms   "
          f"p95 {_percentile(latencies, 95) * 1000:.0f} ms   (aim: p95 < 1000 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
