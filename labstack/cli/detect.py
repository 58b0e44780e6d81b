"""``lab detect FILE...``: run the detections catalog over CloudTrail files, offline.

The records are indexed into an in-memory copy of the local Splunk's event store (the same SPL
engine the running service uses), with the catalog's lookups and the ``cloudtrail`` macro; every
enabled detection is searched over all time, throttling ignored, and its results are mapped back
to the records by ``eventID``. One JSON line per input record, in input order:

    {"eventID": "...", "eventName": "StopLogging", "detections": ["cloudtrail-logging-stopped"]}

>>> from labstack.cli import detect
>>> detect.detect([{"eventID": "e1", "eventName": "StopLogging",
...                 "eventSource": "cloudtrail.amazonaws.com",
...                 "requestParameters": {"name": "lab-trail"}}])
[{'eventID': 'e1', 'eventName': 'StopLogging', 'detections': ['cloudtrail-logging-stopped']}]
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import IO

from helpers import cloudtrail, detections
from labstack.splunk.spl import SPLError
from labstack.splunk.store import EventStore

__all__ = ["DetectError", "detect", "event_store", "main", "read_records"]

SOURCETYPE = detections.MACRO_SOURCETYPE
INDEX = "main"


class DetectError(RuntimeError):
    """A detection's search failed; the message names the detection."""


def _epoch(event_time: object) -> float | None:
    if not isinstance(event_time, str):
        return None
    try:
        return dt.datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def read_records(paths: Iterable[str], on_error=None) -> list[dict]:
    """Records of CloudTrail files and directories (``Records`` documents, JSON lines, .gz)."""
    return list(cloudtrail.read_files(list(paths), on_error=on_error))


def event_store(records: list[dict], keys: list[str] | None = None) -> EventStore:
    """An in-memory event store holding ``records`` (searched under ``keys`` as their eventIDs),
    the ``cloudtrail`` macro and the catalog's lookups; close it when done."""
    keys = _keys(records) if keys is None else keys
    store = EventStore()
    store.set_macro(detections.MACRO, detections.macro_definition(INDEX))
    for name, csv_text in detections.lookups().items():
        store.put_lookup(name, csv_text)
    events = []
    for record, key in zip(records, keys, strict=True):
        raw = record if record.get("eventID") == key else {**record, "eventID": key}
        events.append(
            {
                "_time": _epoch(record.get("eventTime")),
                "index": INDEX,
                "sourcetype": SOURCETYPE,
                "source": "lab-detect",
                "host": "lab",
                "_raw": json.dumps(raw),
            }
        )
    store.add(events)
    return store


def _keys(records: list[dict]) -> list[str]:
    """The eventID each record is searched under: its own, unless missing or repeated."""
    seen: dict[str, int] = {}
    for record in records:
        event_id = record.get("eventID")
        if isinstance(event_id, str):
            seen[event_id] = seen.get(event_id, 0) + 1
    return [
        r["eventID"] if isinstance(r.get("eventID"), str) and seen[r["eventID"]] == 1
        else f"lab-detect-{n}"
        for n, r in enumerate(records)
    ]  # fmt: skip


def detect(
    records: list[dict], catalog: Iterable[detections.Detection] | None = None
) -> list[dict]:
    """``{"eventID", "eventName", "detections"}`` for each record, in order.

    ``catalog`` defaults to every enabled detection; pass others to try a draft.
    """
    chosen = [d for d in detections.load() if d.enabled] if catalog is None else list(catalog)
    keys = _keys(records)
    store = event_store(records, keys)
    fired: dict[str, list[str]] = {key: [] for key in keys}
    try:
        for detection in chosen:
            try:
                results = store.search(detection.search, earliest=0)
            except SPLError as exc:
                raise DetectError(f"detection {detection.id}: {exc}") from exc
            for event_id in {row.get("eventID") for row in results.rows}:
                if event_id in fired:
                    fired[event_id].append(detection.id)
    finally:
        store.close()
    return [
        {"eventID": r.get("eventID"), "eventName": r.get("eventName"), "detections": fired[key]}
        for r, key in zip(records, keys, strict=True)
    ]


def main(paths: list[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Print one JSON line per record; 0 when every file was read, 1 when some were skipped,
    2 when a detection could not run."""
    out, err = out or sys.stdout, err or sys.stderr
    skipped: list[cloudtrail.Skipped] = []
    reader_log = logging.getLogger(cloudtrail.__name__)
    quiet, reader_log.disabled = reader_log.disabled, True  # skips are reported below, once
    try:
        records = read_records(paths, on_error=skipped.append)
    finally:
        reader_log.disabled = quiet
    for skip in skipped:
        print(f"lab detect: skipped {skip.source}: {skip.reason}", file=err)
    try:
        lines = detect(records)
    except (DetectError, detections.DetectionError) as exc:
        print(f"lab detect: {exc}", file=err)
        return 2
    for line in lines:
        print(json.dumps(line), file=out)
    return 1 if skipped else 0
