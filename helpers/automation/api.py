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

__all__ = [
    "FINAL",
    "Unreachable",
    "incident",
    "incidents",
    "sweep",
    "timeline",
    "wait",
    "wait_for_detection",
]

FINAL = ("verified", "failed", "dismissed", "exempt")
#: Seconds one request to the server may take (connecting and answering).
TIMEOUT = 10.0


class Unreachable(requests.ConnectionError):
    """The automation server did not answer; the message says where it was looked for."""


def _request(method: str, path: str, settings: Settings | None = None, **kwargs) -> Any:
    settings = settings or get_settings()
    base = settings.require("automation_url", "the automation server").rstrip("/")
    session = requests.Session()
    session.trust_env = False  # the server is addressed directly, never through a proxy
    try:
        with session:
            resp = session.request(method, f"{base}{path}", timeout=TIMEOUT, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise Unreachable(
            f"the automation server at {base} did not answer ({type(err).__name__}); is it "
            "running? (`lab status`; AUTOMATION_URL)"
        ) from None
    if resp.status_code == 404:
        return None
    if resp.status_code >= 400:
        try:
            message = resp.json().get("error", resp.text)
        except ValueError:
            message = resp.text
        raise requests.HTTPError(
            f"the automation server answered HTTP {resp.status_code}: {message}", response=resp
        )
    return resp.json()


def _get(path: str, settings: Settings | None = None, **params) -> Any:
    return _request("GET", path, settings, params=params)


def sweep(
    rows: list[dict], *, source: str = "a sweep job", settings: Settings | None = None
) -> dict:
    """Hand what a sweep found (:func:`helpers.automation.sweep.world_open_groups`) to the
    server, which handles each row as an alert: ``{"accepted": ..., "id": ..., "rows": n}``.

    Needs ``AUTOMATION_TOKEN``; an unreachable server raises :class:`Unreachable` at once.

    >>> api.sweep(world_open_groups(Clients()), source="job sg-sweep")  # doctest: +SKIP
    {'accepted': True, 'id': 42, 'rows': 1}
    """
    settings = settings or get_settings()
    token = settings.require("automation_token", "the automation server's API token")
    answer = _request(
        "POST",
        "/api/sweep",
        settings,
        json={"rows": rows, "source": source},
        headers={"Authorization": f"Bearer {token}"},
    )
    if answer is None:  # a 404: a server from before sweeps could be handed over
        raise requests.HTTPError("the automation server has no /api/sweep: upgrade it")
    return answer


def rollback(key: str, *, who: str = "a notebook", settings: Settings | None = None) -> str:
    """Undo an incident's remediation from its rollback record (needs ``AUTOMATION_TOKEN``)."""
    settings = settings or get_settings()
    token = settings.require("automation_token", "the automation server's API token")
    headers = {"Authorization": f"Bearer {token}", "X-Lab-User": who}
    return _request("POST", f"/api/incidents/{key}/rollback", settings, headers=headers)["result"]


def incident_rows(
    state: str | None = None, settings: Settings | None = None, limit: int = 200
) -> list[dict]:
    """Every incident's summary as the API lists it (most recently updated first)."""
    params = {"limit": limit, **({"state": state} if state else {})}
    return _get("/api/incidents", settings, **params)["incidents"]


def incidents(state: str | None = None, settings: Settings | None = None, limit: int = 200):
    """Every incident as a DataFrame (most recently updated first; ``limit`` at most 1000)."""
    import pandas as pd

    frame = pd.DataFrame(incident_rows(state, settings, limit))
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
