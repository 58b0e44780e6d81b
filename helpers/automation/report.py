"""The incident report: incidents by detection and by state, and how long each took to fix.

Time to fix is from the incident's first ``received`` step to its first ``verified`` step, read
from its timeline through the server's API (:mod:`helpers.automation.api`), so the report is the
same for the local world and a real deployment. Every function works on an empty period too.

>>> from helpers.automation import report
>>> frame = report.incident_times(hours=24)                        # doctest: +SKIP
>>> report.summary(frame)                                          # doctest: +SKIP
>>> report.plot_counts(frame)                                      # doctest: +SKIP
"""

from __future__ import annotations

import time

import pandas as pd
from matplotlib.figure import Figure

from helpers.automation import api
from helpers.automation.lifecycle import STATES
from helpers.config import Settings

__all__ = ["COLUMNS", "by", "fix_times", "incident_times", "plot_counts", "plot_time_to_fix",
           "summary"]  # fmt: skip

#: The report's columns: the incident's own, then its times.
COLUMNS = ["dedup_key", "detection", "title", "resource", "account", "severity", "state",
           "ticket", "created", "received", "verified", "minutes_to_fix"]  # fmt: skip
#: Most incidents one report reads (the API's largest page).
MAX_INCIDENTS = 1000


def incident_times(hours: float | None = 24, settings: Settings | None = None,
                   now: float | None = None) -> pd.DataFrame:  # fmt: skip
    """Incidents created in the last ``hours`` (None: all) with when each was received and
    verified, and the minutes between (NaN while it is not fixed)."""
    found = api.incidents(settings=settings, limit=MAX_INCIDENTS)
    if found.empty:
        return _typed(pd.DataFrame(columns=COLUMNS))
    if hours is not None:
        cutoff = pd.Timestamp((now or time.time()) - hours * 3600, unit="s", tz="UTC")
        found = found[found["created"] >= cutoff]
    rows = []
    for incident in found.to_dict("records"):
        timeline = (api.incident(incident["dedup_key"], settings) or {}).get("timeline", [])
        received, verified = fix_times(timeline)
        rows.append({**{c: incident.get(c) for c in COLUMNS}, "received": received,
                     "verified": verified})  # fmt: skip
    return _typed(pd.DataFrame(rows, columns=COLUMNS))


def fix_times(timeline: list[dict]) -> tuple[float | None, float | None]:
    """``(received, verified)`` epoch seconds from a timeline; verified is the first after
    received (None while the incident is not fixed).

    >>> fix_times([{"at": 10.0, "state": "received"}, {"at": 70.0, "state": "verified"}])
    (10.0, 70.0)
    >>> fix_times([{"at": 10.0, "state": "received"}, {"at": 12.0, "state": "failed"}])
    (10.0, None)
    """
    steps = sorted(timeline, key=lambda s: s["at"])
    received = next((s["at"] for s in steps if s["state"] == "received"), None)
    if received is None and steps:
        received = steps[0]["at"]
    verified = next(
        (s["at"] for s in steps if s["state"] == "verified" and s["at"] >= (received or 0)), None
    )
    return received, verified


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("received", "verified"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    frame["minutes_to_fix"] = (frame["verified"] - frame["received"]).dt.total_seconds() / 60
    for column in ("created", "received", "verified"):  # to the second, as a person reads them
        frame[column] = frame[column].dt.floor("s")
    return frame


def by(frame: pd.DataFrame, column: str) -> pd.Series:
    """How many incidents per value of ``column`` (states in lifecycle order)."""
    counts = frame[column].value_counts()
    if column == "state":
        counts = counts.reindex([s for s in STATES if s in counts.index])
    return counts.rename("incidents")


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row: incidents, fixed, still open, failed, median and longest minutes to fix."""
    fixed = frame["minutes_to_fix"].dropna()
    final = {"verified", "failed", "dismissed", "exempt"}
    return pd.DataFrame([{
        "incidents": len(frame),
        "fixed": len(fixed),
        "open": int((~frame["state"].isin(final)).sum()),
        "failed": int((frame["state"] == "failed").sum()),
        "median_minutes_to_fix": round(float(fixed.median()), 2) if len(fixed) else None,
        "longest_minutes_to_fix": round(float(fixed.max()), 2) if len(fixed) else None,
    }])  # fmt: skip


def plot_counts(frame: pd.DataFrame) -> Figure:
    """Two bar charts: incidents by detection, incidents by state."""
    figure = _figure()
    for ax, column in zip(figure.subplots(1, 2), ("detection", "state"), strict=True):
        counts = by(frame, column)
        ax.set_title(f"Incidents by {column}")
        if counts.empty:
            _nothing(ax, "no incidents in this period")
            continue
        ax.barh(counts.index[::-1], counts.values[::-1], color="#60a5fa")
        ax.set_xlabel("incidents")
        ax.xaxis.get_major_locator().set_params(integer=True)
    return figure


def plot_time_to_fix(frame: pd.DataFrame) -> Figure:
    """Minutes from received to verified, one bar per fixed incident, grouped by detection."""
    figure = _figure()
    ax = figure.subplots()
    ax.set_title("Time to fix (received -> verified)")
    fixed = frame.dropna(subset=["minutes_to_fix"]).sort_values(["detection", "received"])
    if fixed.empty:
        _nothing(ax, "no incident was fixed in this period")
        return figure
    labels = [f"{r.detection}\n{r.resource}"[:60] for r in fixed.itertuples()]
    unit, per = _unit(float(fixed["minutes_to_fix"].max()))
    ax.barh(range(len(fixed)), fixed["minutes_to_fix"] / per, height=0.6, color="#34d399")
    ax.set_yticks(range(len(fixed)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    return figure


def _unit(longest_minutes: float) -> tuple[str, float]:
    """The unit the longest time reads best in, and how many minutes one of it is.

    >>> _unit(0.5), _unit(30.0), _unit(600.0)
    (('seconds', 0.016666666666666666), ('minutes', 1.0), ('hours', 60.0))
    """
    if longest_minutes < 2:
        return "seconds", 1 / 60
    if longest_minutes < 120:
        return "minutes", 1.0
    return "hours", 60.0


def _figure() -> Figure:
    """A figure a notebook shows once: made through pyplot (so Jupyter's inline backend renders
    it), then closed (so it is not shown a second time at the end of the cell)."""
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(11, 4), layout="constrained")
    plt.close(figure)
    return figure


def _nothing(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#6b7280")
    ax.set_xticks([])
    ax.set_yticks([])
