"""Read the automation server from a notebook or a job: incidents as tables, one timeline, waits.

Talks to ``AUTOMATION_URL`` over its HTTP API (the same in both worlds).

>>> from helpers.automation import api
>>> api.incidents()[["detection", "resource", "state", "ticket"]]       # doctest: +SKIP
>>> api.wait("security-group-open-to-world:sg-0123:123456789012", "verified")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import Any

import requests

from helpers.config import Settings, get_settings

__all__ = ["FINAL", "incident", "incidents", "timeline", "wait", "wait_for_detection"]

FINAL = ("verified", "failed", "dismissed", "exempt")


def _get(path: str, settings: Settings | None = None, **params) -> Any:
    settings = settings or get_settings()
    base = settings.require("automation_url", "the automation server").rstrip("/")
    session = requests.Session()
    session.trust_env = False  # the server is addressed directly, never through a proxy
    with session:
        resp = session.get(f"{base}{path}", params=params, timeout=10)
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return resp.json()


def incidents(state: str | None = None, settings: Settings | None = None):
    """Every incident as a DataFrame (most recently updated first)."""
    import pandas as pd

    found = _get("/api/incidents", settings, **({"state": state} if state else {}))["incidents"]
    frame = pd.DataFrame(found)
    for column in ("created", "updated"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


def incident(key: str, settings: Settings | None = None) -> dict | None:
    """One incident (timeline, actions, enrichment), or None."""
    return _get(f"/api/incidents/{key}", settings)


def timeline(key: str, settings: Settings | None = None):
    """An incident's steps as a DataFrame: when, state, step, what was written."""
    import pandas as pd

    found = incident(key, settings) or {"timeline": []}
    frame = pd.DataFrame(found["timeline"], columns=["at", "state", "step", "text"])
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame


def wait(key: str, *states: str, timeout: float = 30.0, settings: Settings | None = None) -> dict:
    """The incident once it is in one of ``states`` (default: a final one); TimeoutError else."""
    wanted = states or FINAL
    deadline = time.monotonic() + timeout
    while True:
        found = incident(key, settings)
        if found and found["state"] in wanted:
            return found
        if time.monotonic() > deadline:
            now = found["state"] if found else "not received yet"
            raise TimeoutError(f"{key} is {now} after {timeout:.0f}s (waited for {wanted})")
        time.sleep(0.25)


def wait_for_detection(detection: str, *states: str, since: float = 0.0, timeout: float = 30.0,
                       settings: Settings | None = None) -> dict:  # fmt: skip
    """The newest incident of ``detection`` updated since ``since`` and in ``states``."""
    wanted = states or FINAL
    deadline = time.monotonic() + timeout
    while True:
        for row in _get("/api/incidents", settings)["incidents"]:
            mine = row["detection"] == detection and row["updated"] >= since
            if mine and row["state"] in wanted:
                return incident(row["dedup_key"], settings)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {detection} incident reached {wanted} within {timeout:.0f}s")
        time.sleep(0.25)
