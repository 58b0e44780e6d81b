"""``lab detect FILE...`` from the command line: inputs in every CloudTrail shape, one JSON line
per record, and clear errors for bad input."""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest

from helpers import detections
from labstack import cli
from labstack.cli import detect

STOP = {
    "eventID": "cli-stop",
    "eventTime": "2026-11-02T10:00:00Z",
    "eventSource": "cloudtrail.amazonaws.com",
    "eventName": "StopLogging",
    "userIdentity": {"type": "IAMUser", "accountId": "123456789012", "userName": "developer"},
    "sourceIPAddress": "198.51.100.7",
    "requestParameters": {"name": "lab-trail"},
    "recipientAccountId": "123456789012",
}
DESCRIBE = {**STOP, "eventID": "cli-describe", "eventName": "DescribeTrails"}
OPEN_SG = {
    **STOP,
    "eventID": "cli-sg",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "AuthorizeSecurityGroupIngress",
    "requestParameters": {"groupId": "sg-0123456789abcdef0", "cidrIp": "0.0.0.0/0"},
}


def run(capsys, *args) -> tuple[int, list[dict], str]:
    code = cli.main(["detect", *map(str, args)])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_json_lines_records_file_gzip_and_folders(tmp_path, capsys):
    (tmp_path / "a.jsonl").write_text(json.dumps(STOP) + "\n" + json.dumps(DESCRIBE) + "\n")
    folder = tmp_path / "trail" / "AWSLogs"
    folder.mkdir(parents=True)
    (folder / "b.json.gz").write_bytes(gzip.compress(json.dumps({"Records": [OPEN_SG]}).encode()))
    (tmp_path / "c.json").write_text(json.dumps({"Records": [DESCRIBE | {"eventID": "cli-c"}]}))
    code, lines, err = run(capsys, tmp_path / "a.jsonl", tmp_path / "trail", tmp_path / "c.json")
    assert (code, err) == (0, "")
    assert lines == [
        {"eventID": "cli-stop", "eventName": "StopLogging",
         "detections": ["cloudtrail-logging-stopped"]},
        {"eventID": "cli-describe", "eventName": "DescribeTrails", "detections": []},
        {"eventID": "cli-sg", "eventName": "AuthorizeSecurityGroupIngress",
         "detections": ["security-group-open-to-world"]},
        {"eventID": "cli-c", "eventName": "DescribeTrails", "detections": []},
    ]  # fmt: skip


def test_recorded_sample_folder(capsys):
    code, lines, _ = run(capsys, detections.SAMPLES_DIR / "cloudtrail-stop")
    assert code == 0
    assert lines[0]["eventName"] == "StopLogging"
    assert "cloudtrail-logging-stopped" in lines[0]["detections"]


def test_a_corrupt_file_is_named_and_the_rest_is_read(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"Records": [STOP]}))
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(json.dumps({"Records": [OPEN_SG]}).encode())[:20])
    code, lines, err = run(capsys, bad, good)
    assert code == 1
    assert "bad.json.gz" in err and "truncated gzip" in err
    assert [line["eventID"] for line in lines] == ["cli-stop"]


def test_a_missing_file_is_named(tmp_path, capsys):
    code, lines, err = run(capsys, tmp_path / "nope.json")
    assert (code, lines) == (1, [])
    assert "nope.json" in err


def test_records_without_or_with_repeated_event_ids_are_told_apart(capsys, tmp_path):
    records = [
        {k: v for k, v in STOP.items() if k != "eventID"},
        DESCRIBE | {"eventID": "same"},
        STOP | {"eventID": "same"},
    ]
    (tmp_path / "x.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    code, lines, _ = run(capsys, tmp_path / "x.jsonl")
    assert code == 0
    assert [(line["eventID"], line["detections"]) for line in lines] == [
        (None, ["cloudtrail-logging-stopped"]),
        ("same", []),
        ("same", ["cloudtrail-logging-stopped"]),
    ]


def test_throttling_is_ignored():
    twice = [STOP | {"eventID": "t1"}, STOP | {"eventID": "t2"}]
    assert [line["detections"] for line in detect.detect(twice)] == [
        ["cloudtrail-logging-stopped"],
        ["cloudtrail-logging-stopped"],
    ]


def test_old_events_are_searched_all_time():
    old = STOP | {"eventID": "old", "eventTime": "2014-01-01T00:00:00Z"}
    assert detect.detect([old])[0]["detections"] == ["cloudtrail-logging-stopped"]


def test_disabled_detections_do_not_run(monkeypatch):
    catalog = [
        dataclasses.replace(d, enabled=False) if d.id == "cloudtrail-logging-stopped" else d
        for d in detections.load()
    ]
    monkeypatch.setattr(detections, "load", lambda directory=None: catalog)
    assert detect.detect([STOP])[0]["detections"] == []


def test_a_detection_whose_spl_fails_is_named(monkeypatch, tmp_path, capsys):
    broken = dataclasses.replace(
        detections.get("config-recorder-stopped"),
        spl="search `cloudtrail` | nosuchcommand | eval resource=1",
    )
    with pytest.raises(detect.DetectError, match=r"config-recorder-stopped.*nosuchcommand"):
        detect.detect([STOP], [broken])
    monkeypatch.setattr(detections, "load", lambda directory=None: [broken])
    (tmp_path / "a.json").write_text(json.dumps(STOP))
    code, lines, err = run(capsys, tmp_path / "a.json")
    assert (code, lines) == (2, [])
    assert "lab detect: detection config-recorder-stopped" in err


def test_no_files_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["detect"])
    assert caught.value.code == 2
