"""Meta-tests that walk the detections catalog: every entry carries its metadata and its proof."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from helpers import detections
from labstack.cli import detect

CATALOG = detections.load()
BY_ID = {d.id: d for d in CATALOG}

#: The ids the workshop's issue asks for, at least.
REQUIRED_IDS = {
    "cloudtrail-logging-stopped",
    "cloudtrail-logging-reduced",
    "security-group-open-to-world",
    "access-key-used-from-unexpected-country",
    "s3-bucket-made-public",
    "s3-public-access-block-removed",
    "iam-access-key-created-for-other-user",
    "console-login-without-mfa",
    "root-account-usage",
    "guardduty-disabled",
    "config-recorder-stopped",
}
#: The remediations the playbooks part provides (DESIGN.md: the same strings everywhere).
PLAYBOOKS = {
    "revoke-security-group-ingress",
    "restart-cloudtrail-logging",
    "block-s3-public-access",
    "disable-access-key",
    "re-enable-guardduty",
    "restart-config-recorder",
    "none",
}
#: AWS documentation values that hand-written events may use.
DOC_ACCOUNTS = {"123456789012"}
DOC_KEYS = {"AKIAIOSFODNN7EXAMPLE", "AKIAEXAMPLEOTHERKEY1", "ASIAIOSFODNN7EXAMPLE", ""}

by_detection = pytest.mark.parametrize("detection", CATALOG, ids=lambda d: d.id)


def test_catalog_has_the_required_detections():
    assert set(BY_ID) >= REQUIRED_IDS


def test_ids_are_unique_and_name_their_files():
    assert len(BY_ID) == len(CATALOG)
    for detection in CATALOG:
        assert detection.path.name == f"{detection.id}.yml"


@by_detection
def test_metadata(detection):
    assert detection.title and detection.description
    assert detection.severity in detections.SEVERITIES
    assert detection.mitre and all(re.fullmatch(r"T\d{4}(\.\d{3})?", m) for m in detection.mitre)
    assert detection.playbook in PLAYBOOKS
    assert detection.known_false_positives and detection.tuning
    assert detection.dedup_key == ("detection", "resource", "account")
    assert set(detection.throttle.fields) <= set(detections.OUTPUT_FIELDS)
    assert {"resource", "account"} <= set(detection.throttle.fields)


@by_detection
def test_spl_starts_from_the_macro_and_runs(detection):
    assert detection.spl.startswith("search `cloudtrail` ")
    store = detect.event_store([])
    try:
        results = store.search(detection.search, earliest=0)
    finally:
        store.close()
    assert results.rows == []
    assert list(results.fields) == list(detections.OUTPUT_FIELDS)


@by_detection
def test_lookups_it_uses_are_shipped(detection):
    used = set(re.findall(r"\|\s*lookup\s+(\S+)", detection.spl))
    assert used <= set(detections.lookups())


@by_detection
def test_has_recorded_and_hand_written_examples_on_both_sides(detection):
    assert any(ex.scenario for ex in detection.positives), "no recorded positive"
    assert any(ex.event for ex in detection.positives), "no hand-written positive edge case"
    assert sum(1 for ex in detection.negatives if ex.event) >= 3, "too few hand-written negatives"
    for kind in ("positive", "negative"):
        assert detection.examples(kind)


def test_hand_written_event_ids_are_unique_across_the_catalog():
    ids = [ex.event["eventID"] for d in CATALOG for ex in (*d.positives, *d.negatives) if ex.event]
    assert len(ids) == len(set(ids))


def _values(value, key: str):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                yield v
            yield from _values(v, key)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v, key)


@by_detection
def test_hand_written_events_use_documentation_values(detection):
    events = [ex.event for ex in (*detection.positives, *detection.negatives) if ex.event]
    for event in events:
        accounts = {*_values(event, "accountId"), *_values(event, "recipientAccountId")}
        assert accounts <= DOC_ACCOUNTS, event["eventID"]
        assert set(_values(event, "accessKeyId")) <= DOC_KEYS, event["eventID"]


def test_output_tail_builds_the_dedup_key():
    search = BY_ID["cloudtrail-logging-stopped"].search
    assert 'detection="cloudtrail-logging-stopped"' in search
    assert 'dedup_key=detection.":".resource.":".account' in search
    assert search.endswith("| table " + " ".join(detections.OUTPUT_FIELDS))


def test_get_names_the_known_ids():
    assert detections.get("root-account-usage").playbook == "none"
    with pytest.raises(KeyError, match="known: access-key-used-from-unexpected-country"):
        detections.get("no-such-detection")


def test_allowed_countries_lookup():
    text = detections.lookups()["allowed_countries.csv"]
    assert text.splitlines()[0].split(",")[0] == "country"
    assert "United States" in text


# -- the loader fails loudly, naming the file ----------------------------------------------------
SOURCE = detections.CATALOG_DIR / "config-recorder-stopped.yml"


def _catalog_with(tmp_path: Path, **changes) -> Path:
    doc = yaml.safe_load(SOURCE.read_text())
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    (tmp_path / f"{doc.get('id', 'config-recorder-stopped')}.yml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_a_valid_copy_loads(tmp_path):
    assert [d.id for d in detections.load(_catalog_with(tmp_path))] == ["config-recorder-stopped"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"owner": "sec"}, "unknown key(s): owner"),
        ({"playbook": None}, "missing field(s): playbook"),
        ({"severity": "urgent"}, "severity must be one of"),
        ({"mitre": ["1562"]}, "not ATT&CK technique ids"),
        ({"spl": "search index=main eventName=StopLogging | eval resource=1"}, "start from"),
        ({"spl": "search `cloudtrail` eventName=StopLogging"}, "must set the resource"),
        ({"throttle": {"period": "1h", "fields": ["nope"]}}, "not among the output fields"),
        ({"throttle": {"period": "soon", "fields": ["resource"]}}, "throttle.period"),
        ({"schedule": {"cron_schedule": "every minute", "earliest": "-5m", "latest": "now"}},
         "not a cron expression"),
        ({"realtime": "yes"}, "realtime must be true or false"),
        ({"tests": {"positive": [], "negative": [{"name": "x", "event": {}}]}},
         "tests.positive must be a non-empty list"),
        ({"tests": {"positive": [{"name": "x", "event": {"eventName": "A"}}],
                    "negative": [{"name": "y", "event": {"eventID": "1", "eventName": "B"}}]}},
         "event needs eventID and eventName"),
    ],
)  # fmt: skip
def test_invalid_files_fail_naming_the_file(tmp_path, changes, message):
    folder = _catalog_with(tmp_path, **changes)
    with pytest.raises(detections.DetectionError) as caught:
        detections.load(folder)
    assert str(folder / "config-recorder-stopped.yml") in str(caught.value)
    assert message in str(caught.value)


def test_file_name_must_be_the_id(tmp_path):
    shutil.copy(SOURCE, tmp_path / "recorder.yml")
    with pytest.raises(detections.DetectionError, match=r"recorder\.yml: file name must be"):
        detections.load(tmp_path)


def test_duplicate_ids_fail_naming_both_files(tmp_path):
    shutil.copy(SOURCE, tmp_path / "config-recorder-stopped.yml")
    shutil.copy(SOURCE, tmp_path / "config-recorder-stopped.yaml")
    with pytest.raises(detections.DetectionError) as caught:
        detections.load(tmp_path)
    text = str(caught.value)
    assert "duplicate detection id 'config-recorder-stopped'" in text
    assert "config-recorder-stopped.yml" in text and "config-recorder-stopped.yaml" in text


def test_not_yaml_fails_naming_the_file(tmp_path):
    (tmp_path / "broken.yml").write_text("id: [unclosed\n")
    with pytest.raises(detections.DetectionError, match=r"broken\.yml: not valid YAML"):
        detections.load(tmp_path)


def test_a_recorded_example_must_exist(tmp_path):
    example = detections.Example("gone", scenario="no-such-scenario")
    with pytest.raises(detections.DetectionError, match="no recorded scenario"):
        example.records()
    example = detections.Example("none", scenario="cloudtrail-stop", event_name="CreateBucket")
    with pytest.raises(detections.DetectionError, match="has no CreateBucket"):
        example.records()


def test_readme_table_matches_the_catalog():
    readme = (detections.CATALOG_DIR / "README.md").read_text()
    rows = {
        cells[0].strip("` "): [c.strip().strip("`") for c in cells[1:]]
        for line in readme.splitlines()
        if line.startswith("| `")
        for cells in [line.strip("|").split("|")]
    }
    assert set(rows) == set(BY_ID)
    for detection_id, (severity, playbook, mitre) in rows.items():
        detection = BY_ID[detection_id]
        assert (severity, playbook) == (detection.severity, detection.playbook)
        assert mitre == ", ".join(detection.mitre)
