"""``python -m helpers.ingest`` as a process: the health endpoint, idling without HEC settings,
``--once``, and a graceful SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from labstack.world import free_port
from tests.ingest.conftest import log_file, records, until

pytestmark = pytest.mark.stack
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
AWS_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "CLOUDTRAIL_QUEUE",
)


def _env(lab_world, tmp_path: Path, **extra) -> dict:
    """Only the AWS settings (and ``extra``): an empty lab home, so no .lab/env is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPLUNK_", "LAB_"))}
    env.update({k: lab_world.settings[k] for k in AWS_SETTINGS})
    env.update(LAB_HOME=str(tmp_path), PYTHONUNBUFFERED="1", **extra)
    return env


def _health(port: int) -> dict | None:
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}/_lab/health", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def _start(env: dict, log: Path, *args: str) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "helpers.ingest", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_idle_but_healthy_without_hec_settings(lab_world, tmp_path):
    port = free_port()
    log = tmp_path / "ingest.log"
    proc = _start(_env(lab_world, tmp_path, LAB_PORT_INGEST=str(port)), log)
    try:
        assert until(lambda: _health(port) is not None, attempts=300, pause=0.1), log.read_text()
        info = _health(port)
        assert info["ready"] is True
        assert info["state"] == "idle"
        assert "SPLUNK_HEC_URL" in info["reason"] and "SPLUNK_HEC_TOKEN" in info["reason"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    text = log.read_text()
    assert text.count("idle: SPLUNK_HEC_URL, SPLUNK_HEC_TOKEN not set") == 1


def test_once_drains_a_queue_into_hec(lab_world, tmp_path, pipeline, hec_stub):
    p = pipeline()
    recs = records(12, "main")
    p.put(log_file(recs))
    env = _env(lab_world, tmp_path, SPLUNK_HEC_URL=hec_stub.url, SPLUNK_HEC_TOKEN=hec_stub.token)
    log = tmp_path / "once.log"
    proc = _start(env, log, "--once", "--queue", p.queue_url, "--index", "aws", "--host", "i-1")
    assert proc.wait(timeout=120) == 0, log.read_text()
    assert [e["event"]["eventID"] for e in hec_stub.events] == [r["eventID"] for r in recs]
    assert {(e["index"], e["host"]) for e in hec_stub.events} == {("aws", "i-1")}
    assert p.depth() == 0
    assert hec_stub.token not in log.read_text()


def test_once_fails_when_hec_is_down(lab_world, tmp_path, pipeline, hec_stub):
    p = pipeline()
    p.put(log_file(records(3, "down")))
    hec_stub.down()
    env = _env(lab_world, tmp_path, SPLUNK_HEC_URL=hec_stub.url, SPLUNK_HEC_TOKEN=hec_stub.token)
    log = tmp_path / "down.log"
    proc = _start(env, log, "--once", "--queue", p.queue_url)
    assert proc.wait(timeout=120) == 1, log.read_text()
    assert "HEC is unavailable" in log.read_text()
    assert p.depth() == 1


def test_sigterm_during_a_long_poll_stops_cleanly(lab_world, tmp_path, pipeline, hec_stub):
    p = pipeline()
    port = free_port()
    env = _env(
        lab_world,
        tmp_path,
        LAB_PORT_INGEST=str(port),
        SPLUNK_HEC_URL=hec_stub.url,
        SPLUNK_HEC_TOKEN=hec_stub.token,
    )
    log = tmp_path / "loop.log"
    proc = _start(env, log, "--queue", p.queue_url)
    try:
        assert until(lambda: (_health(port) or {}).get("state") == "running", 300, 0.1)
        p.put(log_file(records(5, "loop")))
        assert until(lambda: (_health(port) or {}).get("events") == 5, 600, 0.1), log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert "stopped" in log.read_text()
    assert len(hec_stub.events) == 5
