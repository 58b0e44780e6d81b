"""The catalog as live alerts: installed into the lab's Splunk-compatible server, the recorded
scenarios sent through HEC fire each detection's webhook once (repeats throttled), with the
incident fields in the result, and the baseline fires none."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from helpers import cloudtrail, detections
from helpers.config import Settings
from helpers.receivers import Receiver
from helpers.splunk import install_detections, send_events

SAMPLES = detections.SAMPLES_DIR


@pytest.fixture
def lab_splunk(tmp_path):
    splunklab = pytest.importorskip("tests.splunk.splunklab")
    with splunklab.splunk_process(tmp_path / "state") as splunk:
        yield splunk, splunklab.http()


def _send(splunk, session, records) -> None:
    settings = Settings(splunk_hec_url=splunk.hec_url, splunk_hec_token=splunk.hec_token)
    send_events(
        records, sourcetype="aws:cloudtrail", time_field="eventTime", settings=settings,
        session=session,
    )  # fmt: skip


def test_scenarios_fire_each_detection_once_and_the_baseline_none(lab_splunk):
    splunk, session = lab_splunk
    catalog = detections.load()
    with Receiver() as receiver:
        install_detections(receiver.url, service=splunk.connect(owner="nobody", app="search"))

        baseline = list(cloudtrail.read_files(SAMPLES / "baseline"))
        _send(splunk, session, baseline)
        folders = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name != "baseline")
        scenario_of = {}
        for folder in folders:
            records = list(cloudtrail.read_files(SAMPLES / folder))
            scenario_of.update({r["eventID"]: folder for r in records})
            _send(splunk, session, records)

        names = {d.id for d in catalog}
        receiver.wait(
            len(names), timeout=30, where=lambda p: p["search_name"] in names
        )  # the first alert of every detection
        _send(splunk, session, list(cloudtrail.read_files(SAMPLES / "sg-open-world")))
        time.sleep(1.5)  # time for a repeat to be (wrongly) delivered
        payloads = receiver.payloads

    assert Counter(p["search_name"] for p in payloads) == dict.fromkeys(names, 1)
    baseline_ids = {r["eventID"] for r in baseline}
    for payload in payloads:
        result = payload["result"]
        assert result["eventID"] not in baseline_ids
        assert result["detection"] == payload["search_name"]
        assert result["dedup_key"] == f"{result['detection']}:{result['resource']}:123456789012"
        assert scenario_of[result["eventID"]]
    by_name = {p["search_name"]: p["result"] for p in payloads}
    assert by_name["security-group-open-to-world"]["resource"].startswith("sg-")
    assert by_name["security-group-open-to-world"]["playbook"] == "revoke-security-group-ingress"
    assert by_name["s3-bucket-made-public"]["resource"] == "lab-data-123456789012"
    assert by_name["access-key-used-from-unexpected-country"]["resource"] == "AKIAIOSFODNN7EXAMPLE"
    assert by_name["cloudtrail-logging-stopped"]["resource"] == "lab-trail"
