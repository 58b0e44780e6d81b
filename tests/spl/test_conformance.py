"""The SPL conformance suite: each case in ``cases/*.yaml`` is a query, the events it runs on,
and the results (or the error) Splunk's Search Reference documents for it.

A case has ``ref`` (the Search Reference section it comes from), ``spl``, and one of ``rows``
(exact results in order), ``count`` (number of results) or ``error`` (exact message); optional
``fields`` (exact field order), ``subset`` (expected rows only name some fields), ``events``
(extra events), ``lookups``, ``macros``, ``earliest``/``latest``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from labstack.splunk.spl import SPLError
from labstack.splunk.store import EventStore

HERE = Path(__file__).parent
NOW = 1700086400.0  # 2023-11-15T22:13:20Z, one day after T0


def events_from(spec: dict, defaults: dict) -> list[dict]:
    """Turn YAML events (``_meta`` keys + JSON body, or ``_raw`` text) into store events."""
    out = []
    for item in spec:
        item = {**defaults, **item}
        body = {k: v for k, v in item.items() if not k.startswith("_")}
        out.append({
            "_time": float(item["_time"]),
            "index": item.get("_index", "main"),
            "sourcetype": item.get("_sourcetype", "json"),
            "source": item.get("_source", "test"),
            "host": item.get("_host", "test"),
            "_raw": item["_raw"] if "_raw" in item else json.dumps(body),
        })  # fmt: skip
    return out


def shared_events() -> list[dict]:
    spec = yaml.safe_load((HERE / "events.yaml").read_text())
    defaults = spec.pop("defaults")
    return [e for name, items in spec.items() for e in events_from(items, defaults[name])]


def load_cases() -> list:
    params = []
    for path in sorted((HERE / "cases").glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load(path.read_text())):
            params.append(pytest.param(case, id=f"{path.stem}-{i + 1}"))
    return params


CASES = load_cases()
EVENTS = shared_events()


def normalize(value):
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if value is None or isinstance(value, str) else str(value)


@pytest.fixture
def store():
    store = EventStore()
    store.add(EVENTS)
    yield store
    store.close()


@pytest.mark.parametrize("case", CASES)
def test_case(case, store):
    assert case.get("ref"), "every case cites the Search Reference section it comes from"
    store.add(events_from(case.get("events", []), {}))
    for name, text in case.get("lookups", {}).items():
        store.put_lookup(name, text)
    for name, macro in case.get("macros", {}).items():
        store.set_macro(name, macro["definition"], macro.get("args", []))
    run = lambda: store.search(  # noqa: E731
        case["spl"], earliest=case.get("earliest"), latest=case.get("latest"), now=NOW
    )
    if "error" in case:
        with pytest.raises(SPLError) as caught:
            run()
        assert str(caught.value) == case["error"]
        return
    results = run()
    if "fields" in case:
        assert results.fields == case["fields"]
    if "count" in case:
        assert len(results.rows) == case["count"]
    if "rows" in case:
        expected = [{k: normalize(v) for k, v in row.items()} for row in case["rows"]]
        actual = results.rows
        if case.get("subset"):
            actual = [{k: r.get(k) for k in e} for r, e in zip(actual, expected, strict=False)]
            assert len(results.rows) == len(expected)
        assert actual == expected


def test_enough_cases():
    assert len(CASES) >= 150
