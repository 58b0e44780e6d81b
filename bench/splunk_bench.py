"""Benchmark the Splunk service's HTTP Event Collector: ingest rate and the service's memory.

One run, on the same generated CloudTrail events as ``bench/spl_bench.py`` (a realistic mix,
about 700 bytes each): the events go to a fresh ``python -m labstack.splunk`` through HEC in large
batches over a few keep-alive connections (the request bodies are built before the clock starts,
so the figure is the service's), then a count over the API checks every event landed. The
baseline, in the same run, is ``EventStore.add`` on the same events in this process (no HTTP, no
JSON parsing): the ratio is what the collector adds. The service's peak memory (VmHWM) is read
after ingest and after a search over everything. Optionally ``helpers.splunk.send_events`` is
timed too (client serialisation included; it shares the CPUs with the service).

    .venv/bin/python bench/splunk_bench.py [--events 1000000] [--batch 10000] [--connections 4]

Aims (issue 3): at least 100,000 events/s through HEC; the service under 2 GiB. Times are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spl_bench import generate

from labstack.process import spawn
from labstack.splunk.store import EventStore

HEC_TOKEN = "00000000-0000-4000-8000-00000000beef"
PASSWORD = "bench-password"


def _line(e: dict) -> str:
    return (
        f'{{"time":{e["_time"]},"host":"{e["host"]}","source":"{e["source"]}",'
        f'"sourcetype":"{e["sourcetype"]}","index":"{e["index"]}","event":{e["_raw"]}}}'
    )


def bodies(events: Iterable[dict], batch: int) -> list[bytes]:
    """HEC request bodies: one event object per line, metadata first and ``event`` last."""
    return ["\n".join(map(_line, chunk)).encode() for chunk in batched(events, batch)]


def batched(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Service:
    """A private ``python -m labstack.splunk`` in a temporary state directory."""

    def __init__(self, state: Path):
        env = {"SPLUNK_PASSWORD": PASSWORD, "SPLUNK_HEC_TOKEN": HEC_TOKEN}
        self.proc = spawn("splunk", state, env, log=state.parent / "splunk.log")
        self.url, self.hec_url = self.proc.url, self.proc.url_of("hec")
        self.http = requests.Session()
        self.http.trust_env = False

    def memory(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the service in MiB, from /proc."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        values = {k: v for k, _, v in (line.partition(":") for line in status)}
        return (int(values["VmRSS"].split()[0]) / 1024, int(values["VmHWM"].split()[0]) / 1024)

    def cpu(self) -> float:
        """CPU seconds the service has used (user + system, all threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def search(self, spl: str) -> list[dict]:
        resp = self.http.post(
            self.url + "/services/search/v2/jobs/export",
            data={"search": spl, "output_mode": "json"},
            auth=("admin", PASSWORD),
            timeout=600,
        )
        resp.raise_for_status()
        return [json.loads(line)["result"] for line in resp.text.splitlines() if line.strip()]

    def stop(self) -> None:
        self.proc.stop(grace=30)


def send_all(url: str, payloads: list[bytes], connections: int) -> float:
    """Seconds to POST every body (``connections`` at a time); any non-200 aborts the run."""
    headers = {"Authorization": f"Splunk {HEC_TOKEN}"}
    sessions: dict[int, requests.Session] = {}

    def post(i_body: tuple[int, bytes]) -> None:
        i, body = i_body
        session = sessions.setdefault(i % connections, requests.Session())
        session.trust_env = False
        resp = session.post(url + "/services/collector/event", data=body, headers=headers)
        if resp.status_code != 200:
            raise SystemExit(f"HEC answered {resp.status_code}: {resp.text}")

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(post, enumerate(payloads)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="events per HEC request")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--send-events", type=int, default=100_000, help="events for helpers.send_events (0: skip)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    payloads = bodies(generate(args.events), args.batch)
    size = sum(map(len, payloads)) / args.events
    took = time.perf_counter() - started
    print(f"generated {args.events:,} events ({size:.0f} bytes per HEC line) in {took:.1f}s")

    with tempfile.TemporaryDirectory() as tmp:
        baseline = EventStore(str(Path(tmp) / "baseline.duckdb"))
        direct = 0.0
        for chunk in batched(generate(args.events), args.batch):
            started = time.perf_counter()
            baseline.add(chunk)
            direct += time.perf_counter() - started
        baseline.close()
        print(f"baseline EventStore.add in-process: {args.events / direct:,.0f} events/s")

        state = Path(tmp) / "splunk"
        state.mkdir()
        service = Service(state)
        try:
            idle = service.memory()[0]
            cpu = service.cpu()
            took = send_all(service.hec_url, payloads, args.connections)
            cpu = service.cpu() - cpu
            rate = args.events / took
            mb = sum(map(len, payloads)) / took / 2**20
            _, after_ingest = service.memory()
            counted = int(service.search("search index=main | stats count")[0]["count"])
            by_name = service.search("search index=main | stats count by eventName")
            _, after_search = service.memory()
            print(
                f"HEC ingest: {rate:,.0f} events/s ({mb:.0f} MiB/s, {took:.1f}s; "
                f"{len(payloads)} requests of {args.batch:,}, {args.connections} connections)"
            )
            print(f"HEC vs in-process add: {direct / took:.2f}x the baseline's rate")
            print(
                f"service CPU during ingest: {cpu / args.events * 1e6:.1f} us/event "
                f"({cpu / took:.2f} cores busy of {os.cpu_count()}; "
                f"load average {os.getloadavg()[0]:.1f} includes other programs)"
            )
            status = "all there" if counted == args.events else f"MISSING {args.events - counted}"
            print(f"searchable afterwards: {counted:,} events ({status}); {len(by_name)} names")
            print(
                f"service memory: idle {idle:,.0f} MiB, peak after ingest {after_ingest:,.0f} MiB, "
                f"peak after a full search {after_search:,.0f} MiB"
            )
            if args.send_events:
                _send_events(service, list(generate(args.send_events)))
        finally:
            service.stop()


def _send_events(service: Service, events: list[dict]) -> None:
    from helpers import splunk
    from helpers.config import Settings

    settings = Settings(_env_file=None, splunk_hec_url=service.hec_url, splunk_hec_token=HEC_TOKEN)
    records = [json.loads(e["_raw"]) for e in events]
    started = time.perf_counter()
    splunk.send_events(
        records, sourcetype="aws:cloudtrail", time_field="eventTime", settings=settings
    )
    took = time.perf_counter() - started
    print(
        f"helpers.splunk.send_events end to end (1 connection, default batches): "
        f"{len(records) / took:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
