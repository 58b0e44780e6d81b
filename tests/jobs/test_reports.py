"""The logic behind the report jobs, without a world: time to fix from timelines, plots of an
empty period, and stale or unused access keys (moto in-process)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from moto import mock_aws

from helpers import inventory
from helpers.automation import api, report

NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def _incident(key: str, detection: str, state: str, created: float, steps: list[tuple]) -> dict:
    return {
        "dedup_key": key, "detection": detection, "title": detection, "resource": key,
        "account": "123456789012", "severity": "high", "state": state, "ticket": "SEC-1",
        "created": created, "updated": created,
        "timeline": [{"at": at, "state": s, "step": s, "text": s} for at, s in steps],
    }  # fmt: skip


@pytest.fixture
def server(monkeypatch):
    """A fake automation API over a dict of incidents."""
    found: dict[str, dict] = {}

    def incidents(state=None, settings=None, limit=200):
        rows = [{k: v for k, v in i.items() if k != "timeline"} for i in found.values()]
        frame = pd.DataFrame(rows)
        for column in ("created", "updated"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    monkeypatch.setattr(api, "incidents", incidents)
    monkeypatch.setattr(api, "incident", lambda key, settings=None: found.get(key))
    return found


def test_time_to_fix_is_received_to_verified_and_open_ones_have_none(server):
    day = 86400
    server["a"] = _incident("a", "sg-open", "verified", NOW - 600,
                            [(NOW - 600, "received"), (NOW - 540, "ticketed"),
                             (NOW - 480, "verified")])  # fmt: skip
    server["b"] = _incident("b", "sg-open", "waiting_for_approval", NOW - 300,
                            [(NOW - 300, "received"),
                             (NOW - 200, "waiting_for_approval")])  # fmt: skip
    server["old"] = _incident("old", "key-abroad", "verified", NOW - 3 * day,
                              [(NOW - 3 * day, "received"),
                               (NOW - 3 * day + 60, "verified")])  # fmt: skip
    frame = report.incident_times(hours=24, now=NOW)
    assert sorted(frame["dedup_key"]) == ["a", "b"]  # the period leaves the old one out
    minutes = dict(zip(frame["dedup_key"], frame["minutes_to_fix"], strict=True))
    assert minutes["a"] == 2.0 and pd.isna(minutes["b"])
    summary = report.summary(frame).iloc[0].to_dict()
    assert summary["incidents"] == 2 and summary["fixed"] == 1 and summary["open"] == 1
    assert summary["median_minutes_to_fix"] == 2.0
    assert report.by(frame, "state").to_dict() == {"waiting_for_approval": 1, "verified": 1}
    assert len(report.incident_times(hours=None, now=NOW)) == 3


def test_the_report_works_with_no_incidents_at_all(server):
    frame = report.incident_times(hours=24, now=NOW)
    assert frame.empty and list(frame.columns) == report.COLUMNS
    assert report.summary(frame).iloc[0]["incidents"] == 0
    for figure in (report.plot_counts(frame), report.plot_time_to_fix(frame)):
        texts = [t.get_text() for ax in figure.axes for t in ax.texts]
        assert any(t.startswith("no incident") for t in texts)
        figure.savefig(io.BytesIO(), format="png")  # it renders


def test_the_plots_have_one_bar_per_detection_state_and_fixed_incident(server):
    for n, state in enumerate(("verified", "verified", "failed")):
        steps = [(NOW - 100, "received"), (NOW - 100 + 30 * (n + 1), state)]
        server[f"k{n}"] = _incident(f"k{n}", f"d{n % 2}", state, NOW - 100, steps)
    frame = report.incident_times(hours=1, now=NOW)
    counts = report.plot_counts(frame)
    assert [len(ax.patches) for ax in counts.axes] == [2, 2]  # d0 d1; verified failed
    fixes = report.plot_time_to_fix(frame)
    assert len(fixes.axes[0].patches) == 2


@pytest.fixture
def in_process_aws(monkeypatch):
    """moto in this process (the session's world, if one runs, is not this test's account)."""
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    with mock_aws():
        yield


def test_access_keys_are_flagged_when_too_old_or_never_used(in_process_aws):
    import boto3

    from helpers.aws import LabSession

    lab = LabSession(boto3.Session(region_name="us-east-1", aws_access_key_id="testing",
                                   aws_secret_access_key="testing"), None)  # fmt: skip
    iam = lab.client("iam")
    for user in ("alice", "bob"):
        iam.create_user(UserName=user)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.create_access_key(UserName="bob")
    used = boto3.client("sts", region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip
    used.get_caller_identity()

    today = inventory.access_keys(lab)
    assert sorted(today["user"]) == ["alice", "bob"]
    assert (today["age_days"] == 0).all()
    assert inventory.stale_access_keys(today).empty

    later = inventory.access_keys(lab, now=datetime.now(UTC) + timedelta(days=100))
    flagged = inventory.stale_access_keys(later, max_age_days=90, max_idle_days=45)
    reasons = dict(zip(flagged["user"], flagged["reason"], strict=True))
    assert "created 100 days ago (rotate after 90)" in reasons["alice"]
    assert "never used in 100 days" in reasons["bob"]
    assert set(inventory.stale_access_keys(later, 365, 365)["user"]) == set()


def test_inactive_keys_are_not_flagged():
    keys = pd.DataFrame([
        {"user": "a", "access_key_id": "AKIA1", "status": "Inactive", "age_days": 400,
         "idle_days": 400, "last_used": None},
        {"user": "b", "access_key_id": "AKIA2", "status": "Active", "age_days": 10,
         "idle_days": 60, "last_used": "2025-11-01"},
    ])  # fmt: skip
    flagged = inventory.stale_access_keys(keys)
    assert flagged["user"].tolist() == ["b"]
    assert flagged["reason"][0] == "last used 60 days ago (idle for 45 at most)"
