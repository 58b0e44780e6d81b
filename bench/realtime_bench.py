"""Benchmark: real-time alerting with the whole detection catalog installed, against HEC ingest.

One run, on the same events: a realistic CloudTrail mix (``spl_bench.generate``'s read-heavy
account, made benign: IAM users call from United States or private addresses, security groups
open to private ranges only) with each detection's positive and negative test events planted
every ``--every`` events, each with a fresh eventID.

- **engine**: the local Splunk's real-time path in this process (``Alerting.evaluate_batch`` over
  a ``BatchStore``, every catalog detection a real-time saved search as ``install_detections``
  makes it, throttling off) evaluates the events in batches of ``--batch`` (HEC requests of that
  size); events/s of evaluation time.
- **HEC**: the same events sent to a fresh ``python -m labstack.splunk`` with no saved searches
  (``splunk_bench``'s method: bodies built before the clock starts); events/s.
- **service**: the same events sent to a second fresh service with the catalog installed
  (``helpers.splunk.install_detections``, webhook to a local receiver); events/s from the first
  request to the last expected webhook: what real-time alerting keeps up with end to end.

Every run checks that each expected alert fired: the planted positives' eventIDs, and exactly the
eventIDs the same searches find over all events at once (nothing dropped while going fast, no
negative fired). ``--profile`` prints the engine's cProfile instead of timing the services.

    .venv/bin/python bench/realtime_bench.py [--events 200000] [--batch 10000] [--profile]

Figures on the lab's 2-core machine (shared, so +-20% between runs), 200,200 events, 76 alerts:

    ================================  =========  ================================
                                      before     after (issue 13, item 10)
    ================================  =========  ================================
    engine in process                 8.3k/s     58k-72k/s
    HEC only, same run                94k/s      80k-95k/s
    service with catalog, end to end  7.8k/s     44k-59k/s (0.55-0.62 of HEC)
    ================================  =========  ================================

"Before" is the tree before the work with today's geolocation data (the country detection's
answers depend on it). Aim (issue 13): 50,000 events/s or more with the catalog installed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spl_bench import generate
from splunk_bench import HEC_TOKEN, PASSWORD, Service, bodies, send_all

from helpers import detections
from labstack.splunk.alerting import Alerting
from labstack.splunk.alerting.actions import Action, Outgoing, Trigger
from labstack.splunk.alerting.search import BatchStore
from labstack.splunk.jobs import Jobs
from labstack.splunk.saved import SavedSearches
from labstack.splunk.spl.geo import locate
from labstack.splunk.store import EventStore

#: Bounds a run whose alerts never all arrive (reported as a failure), not a speed limit.
WAIT = 300.0
WEBHOOK = "http://127.0.0.1:9/bench"  # never called in-process: the recording action stands in


# -- the events --------------------------------------------------------------------------------
def _addresses(rng: random.Random, country: str, n: int) -> list[str]:
    out = []
    while len(out) < n:
        ip = ".".join(str(rng.randint(1, 223)) for _ in range(4))
        if (locate(ip) or {}).get("Country") == country:
            out.append(ip)
    return out


def _benign(record: dict, rng: random.Random, home: list[str]) -> dict:
    if record["userIdentity"]["type"] == "IAMUser":
        record["sourceIPAddress"] = rng.choice(home) if rng.random() < 0.8 else "10.1.2.3"
    for item in (record.get("requestParameters") or {}).get("ipPermissions", {}).get("items", []):
        for r in item["ipRanges"]["items"]:
            r["cidrIp"] = "10.0.0.0/8" if r["cidrIp"] == "0.0.0.0/0" else r["cidrIp"]
    if record["eventName"] == "StopLogging":
        record["errorCode"] = "AccessDenied"
    return record


def planted() -> list[tuple[str, str, dict]]:
    """``(detection id, "positive"|"negative", record)`` for every catalog test event."""
    out = []
    for detection in detections.load():
        for kind in ("positive", "negative"):
            out += [(detection.id, kind, record) for _, record in detection.examples(kind)]
    return out


def events(n: int, every: int, seed: int = 11) -> tuple[list[dict], dict[str, set[str]]]:
    """The mix as store events, and the planted positives' eventIDs by detection."""
    rng = random.Random(seed)
    home = _addresses(rng, "United States", 200)
    plants = planted()
    out, positives = [], {}
    for i, event in enumerate(generate(n, seed)):
        record = _benign(json.loads(event["_raw"]), rng, home)
        event["_raw"] = json.dumps(record)
        out.append(event)
        if i % every == every - 1:
            name, kind, plant = plants[(i // every) % len(plants)]
            record = dict(plant, eventID=str(uuid.uuid4()))
            record["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event["_time"]))
            if kind == "positive":
                positives.setdefault(name, set()).add(record["eventID"])
            out.append({**event, "_raw": json.dumps(record)})
    return out, positives


def expected(all_events: list[dict]) -> dict[str, Counter]:
    """What each detection finds over all events at once: eventID -> results, by detection."""
    store = EventStore()
    _knowledge(store)
    store.add(all_events)
    found = {}
    for detection in detections.load():
        rows = store.search(detection.search).rows
        found[detection.id] = Counter(r.get("eventID") for r in rows)
    store.close()
    return found


def _knowledge(store: EventStore) -> None:
    store.set_macro(detections.MACRO, detections.macro_definition("main"))
    for name, text in detections.lookups().items():
        store.put_lookup(name, text)


# -- the engine in this process ----------------------------------------------------------------
class Recorder(Action):
    """Stands in for the webhook: counts each trigger's eventID, queues nothing."""

    name = "webhook"

    def __init__(self):
        self.seen: dict[str, Counter] = {}

    def prepare(self, trigger: Trigger) -> list[Outgoing]:
        counter = self.seen.setdefault(trigger.rule.name, Counter())
        counter.update(r.get("eventID") for r in trigger.rows)
        return []

    def deliver(self, delivery: Outgoing) -> str:
        return "recorded"


def engine(all_events: list[dict], batch: int, tmp: Path, profile: bool):
    """(events/s of evaluation, what fired) for the in-process real-time path."""
    store = EventStore()
    _knowledge(store)
    saved = SavedSearches(tmp / "saved.json")
    recorder = Recorder()
    alerting = Alerting(store, saved, Jobs(lambda *a, **k: None), tmp, web="http://lab",
                        actions={"webhook": recorder})  # fmt: skip
    saved.listeners.append(alerting.on_saved_change)
    for detection in detections.load():
        params = detections.saved_search_params(detection, WEBHOOK)
        params["alert.suppress"] = "0"
        saved.create(detection.id, params)
    batch_store = BatchStore(store)
    profiler = cProfile.Profile() if profile else None
    took, each = 0.0, Counter()
    for start in range(0, len(all_events), batch):
        chunk = all_events[start : start + batch]
        store.add(chunk)
        began = time.perf_counter()
        if profiler:  # one search after another in this thread, so cProfile sees them
            profiler.enable()
            batch_store.replace(chunk)
            for name in list(alerting._realtime):
                one = time.perf_counter()
                alerting._realtime_one(batch_store, name, time.time())
                each[name] += time.perf_counter() - one
            profiler.disable()
        else:
            alerting.evaluate_batch(batch_store, chunk)
        took += time.perf_counter() - began
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        for name, seconds in each.most_common():
            print(f"  {name:<45} {len(all_events) / seconds:>12,.0f} events/s alone")
    batch_store.close()
    alerting._rt_pool.shutdown()  # never started: nothing else to stop
    alerting.state.close()
    store.close()
    return len(all_events) / took, recorder.seen


# -- the services ------------------------------------------------------------------------------
def hec_only(payloads: list[bytes], connections: int, tmp: Path, n: int) -> float:
    state = tmp / "hec-only"
    state.mkdir()
    service = Service(state)
    try:
        took = send_all(service.hec_url, payloads, connections)
        counted = int(service.search("search index=main | stats count")[0]["count"])
        if counted != n:
            raise SystemExit(f"HEC-only service has {counted} events, sent {n}")
        return n / took
    finally:
        service.stop()


def with_catalog(payloads: list[bytes], connections: int, tmp: Path, want: int):
    """(events/s from the first request to the last expected webhook, webhooks by detection)."""
    from helpers import splunk
    from helpers.config import Settings
    from helpers.receivers import Receiver

    state = tmp / "catalog"
    state.mkdir()
    service = Service(state)
    try:
        with Receiver() as receiver:
            settings = Settings(_env_file=None, splunk_url=service.url, splunk_username="admin",
                                splunk_password=PASSWORD, splunk_hec_url=service.hec_url,
                                splunk_hec_token=HEC_TOKEN)  # fmt: skip
            client = splunk.connect(settings)
            splunk.install_detections(receiver.url, service=client, settings=settings)
            for saved in client.saved_searches:
                saved.update(**{"alert.suppress": "0"})
            started = time.perf_counter()
            sending = send_all(service.hec_url, payloads, connections)
            deadline = time.monotonic() + WAIT
            while len(receiver.received) < want and time.monotonic() < deadline:
                time.sleep(0.01)
            took = time.perf_counter() - started
            print(f"  (the last HEC request answered after {sending:.1f}s, "
                  f"the last expected webhook arrived after {took:.1f}s)")  # fmt: skip
            seen: dict[str, Counter] = {}
            for item in list(receiver.received):
                name = item.payload.get("search_name")
                seen.setdefault(name, Counter())[item.payload["result"].get("eventID")] += 1
            return sum(len(p.splitlines()) for p in payloads) / took, seen
    finally:
        service.stop()


def check(label: str, seen: dict[str, Counter], truth: dict[str, Counter], positives) -> bool:
    ok = True
    for name, counts in truth.items():
        got = seen.get(name, Counter())
        missing = set(positives.get(name, ())) - set(got)
        if got != counts or missing:
            ok = False
            print(
                f"  !! {label} {name}: fired {sum(got.values())}, expected "
                f"{sum(counts.values())}; planted positives not fired: {len(missing)}"
            )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000, help="events per HEC request")
    parser.add_argument("--every", type=int, default=1000, help="a planted event every N")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--profile", action="store_true", help="cProfile the engine only")
    parser.add_argument("--engine-only", action="store_true", help="skip the two services")
    args = parser.parse_args()

    all_events, positives = events(args.events, args.every)
    truth = expected(all_events)
    want = sum(sum(c.values()) for c in truth.values())
    print(f"{len(all_events):,} events, {sum(map(len, positives.values()))} planted positives; "
          f"{want} alerts expected from {len(truth)} detections")  # fmt: skip
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rate, seen = engine(all_events, args.batch, tmp / "engine", args.profile)
        ok &= check("engine", seen, truth, positives)
        print(f"real-time engine (in process), catalog installed: {rate:,.0f} events/s")
        if args.profile or args.engine_only:
            return 0 if ok else 1
        payloads = bodies(all_events, args.batch)
        hec = hec_only(payloads, args.connections, tmp, len(all_events))
        print(f"HEC ingest only, same events, same run: {hec:,.0f} events/s")
        print(f"engine / HEC: {rate / hec:.2f}")
        served, seen = with_catalog(payloads, args.connections, tmp, want)
        ok &= check("service", seen, truth, positives)
        print(
            f"service with the catalog, HEC to last webhook: {served:,.0f} events/s "
            f"({served / hec:.2f} of HEC-only; load average {os.getloadavg()[0]:.1f})"
        )
    print("every expected alert fired" if ok else "SOME ALERTS WERE MISSING OR EXTRA")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
