"""The catalog's proof: through ``lab detect`` every positive matches and no negative does, and
each recorded scenario fires exactly the detections it should (the baseline none)."""

from __future__ import annotations

import pytest

from helpers import cloudtrail, detections
from labstack.cli import detect

CATALOG = detections.load()
SAMPLES = detections.SAMPLES_DIR
KEY_FROM_ABROAD = "access-key-used-from-unexpected-country"

#: Scenario folder -> the detection that answers it.
SCENARIO_DETECTION = {
    "cloudtrail-stop": "cloudtrail-logging-stopped",
    "cloudtrail-delete": "cloudtrail-logging-stopped",
    "cloudtrail-event-selectors": "cloudtrail-logging-reduced",
    "sg-open-world": "security-group-open-to-world",
    "key-from-abroad": KEY_FROM_ABROAD,
    "s3-public": "s3-bucket-made-public",
    "s3-block-public-access-removed": "s3-public-access-block-removed",
    "access-key-for-other-user": "iam-access-key-created-for-other-user",
    "console-login-no-mfa": "console-login-without-mfa",
    "root-usage": "root-account-usage",
    "guardduty-disabled": "guardduty-disabled",
    "config-stopped": "config-recorder-stopped",
}
#: Scenarios that do not act with the developer's stolen long-term key from abroad (every other
#: scenario does: helpers.simulate's attacker), so the key detection stays quiet for them.
NOT_WITH_THE_STOLEN_KEY = {"console-login-no-mfa", "root-usage"}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, list[tuple[str, str, dict, list[str]]]]:
    """All examples of all detections through one ``lab detect`` run (the whole catalog)."""
    examples = [
        (d.id, kind, name, record)
        for d in CATALOG
        for kind in ("positive", "negative")
        for name, record in d.examples(kind)
    ]
    lines = detect.detect([record for *_, record in examples], CATALOG)
    assert len(lines) == len(examples)
    found: dict[str, list] = {d.id: [] for d in CATALOG}
    for (detection_id, kind, name, record), line in zip(examples, lines, strict=True):
        assert line["eventID"] == record.get("eventID")
        found[detection_id].append((kind, name, record, line["detections"]))
    return found


@pytest.mark.parametrize("detection", CATALOG, ids=lambda d: d.id)
def test_positives_match_and_negatives_do_not(detection, verdicts):
    wrong = [
        f"{kind} {name!r} ({record.get('eventID')}) fired {fired}"
        for kind, name, record, fired in verdicts[detection.id]
        if (detection.id in fired) != (kind == "positive")
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("detection", CATALOG, ids=lambda d: d.id)
def test_every_positive_result_carries_the_incident_fields(detection):
    records = [record for _, record in detection.examples("positive")]
    store = detect.event_store(records)
    try:
        rows = store.search(detection.search, earliest=0).rows
    finally:
        store.close()
    assert len(rows) == len(records)
    for row in rows:
        assert row["detection"] == detection.id
        assert row["severity"] == detection.severity
        assert row["playbook"] == detection.playbook
        assert row["resource"] and row["account"] == "123456789012"
        assert row["dedup_key"] == f"{detection.id}:{row['resource']}:{row['account']}"
        assert row["eventID"] and row["eventName"] and row["actor"] and row["source_ip"]


def test_every_recorded_scenario_has_its_detection():
    folders = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    assert folders - {"baseline"} == set(SCENARIO_DETECTION)
    assert set(SCENARIO_DETECTION.values()) == {d.id for d in CATALOG}


@pytest.mark.parametrize("scenario", sorted(SCENARIO_DETECTION))
def test_recorded_scenario_fires_its_detection(scenario):
    records = list(cloudtrail.read_files(SAMPLES / scenario))
    lines = detect.detect(records)
    fired = {d for line in lines for d in line["detections"]}
    expected = {SCENARIO_DETECTION[scenario]}
    if scenario not in NOT_WITH_THE_STOLEN_KEY:
        expected.add(KEY_FROM_ABROAD)
    assert fired == expected
    answered = [line for line in lines if SCENARIO_DETECTION[scenario] in line["detections"]]
    assert answered, f"{SCENARIO_DETECTION[scenario]} did not fire on {scenario}"


def test_baseline_fires_nothing():
    records = list(cloudtrail.read_files(SAMPLES / "baseline"))
    assert len(records) >= 50
    lines = detect.detect(records)
    assert [line for line in lines if line["detections"]] == []


def test_whole_sample_folder_in_one_run():
    """All scenarios and the baseline together: the answers do not depend on the company."""
    records = list(cloudtrail.read_files(SAMPLES))
    lines = detect.detect(records)
    together = {line["eventID"]: line["detections"] for line in lines}
    for scenario in [*SCENARIO_DETECTION, "baseline"]:
        alone = detect.detect(list(cloudtrail.read_files(SAMPLES / scenario)))
        for line in alone:
            assert together[line["eventID"]] == line["detections"]
