"""Reading SQS message bodies and turning CloudTrail files into HEC events (no world needed)."""

from __future__ import annotations

import gzip
import json

import pytest

from helpers.cloudtrail import CorruptLogError
from helpers.ingest import (
    NotificationError,
    S3Object,
    hec_lines,
    parse_notification,
    wanted,
)
from tests.ingest.conftest import log_file, records

KEY = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/02/123456789012_CloudTrail_x.json.gz"


def s3_event(key: str = KEY, name: str = "ObjectCreated:Put", bucket: str = "trail") -> dict:
    # The shape S3 sends (Amazon S3 User Guide, "Event message structure"), trimmed.
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-02T14:01:03.123Z",
                "eventName": name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": 1024, "eTag": "abc", "sequencer": "0A1"},
                },
            }
        ]
    }


def sns(message: dict | str) -> str:
    # SNS's envelope for an SQS subscription without raw message delivery.
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "4c3e0e1a-0000-0000-0000-000000000000",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:lab-cloudtrail-notifications",
            "Subject": "Amazon S3 Notification",
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2026-11-02T14:01:03.200Z",
            "SignatureVersion": "1",
        }
    )


# -- notifications ----------------------------------------------------------------------------
def test_plain_s3_event():
    note = parse_notification(json.dumps(s3_event()))
    assert note.kind == "s3"
    assert note.objects == (S3Object("trail", KEY, "abc"),)
    assert note.objects[0].uri == f"s3://trail/{KEY}"


def test_s3_event_inside_sns_envelope():
    note = parse_notification(sns(s3_event()))
    assert note.kind == "sns/s3"
    assert note.objects == (S3Object("trail", KEY, "abc"),)


def test_keys_are_url_decoded():
    note = parse_notification(json.dumps(s3_event("AWSLogs/a+b%3Dc%2Bd.json.gz")))
    assert note.objects[0].key == "AWSLogs/a b=c+d.json.gz"


@pytest.mark.parametrize("wrap", [json.dumps, sns])
def test_s3_test_event_is_recognised(wrap):
    body = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-02T14:00:00.000Z",
        "Bucket": "trail",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    note = parse_notification(wrap(body))
    assert note.test_event
    assert note.objects == ()


def test_other_s3_events_name_nothing():
    note = parse_notification(json.dumps(s3_event(name="ObjectRemoved:Delete")))
    assert note.objects == ()
    assert note.ignored == 1


def test_cloudtrail_sns_notification():
    body = sns({"s3Bucket": "trail", "s3ObjectKey": [KEY, KEY + "2"]})
    note = parse_notification(body)
    assert note.kind == "sns/cloudtrail"
    assert [o.key for o in note.objects] == [KEY, KEY + "2"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json at all", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": "world"}', "not an S3 event notification"),
        ('{"Records": "nope"}', "not a list"),
        ('{"Records": [{"eventName": "ObjectCreated:Put"}]}', "no s3.bucket.name"),
        ('{"Records": [42]}', "Records[0] is not an object"),
        (sns("{truncated"), "SNS Message is not JSON"),
        (sns("[]"), "SNS Message is not a JSON object"),
    ],
)
def test_malformed_bodies_say_why(body, message):
    with pytest.raises(NotificationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_notification(body)


def test_log_file_names():
    assert wanted(KEY)
    assert wanted("logs/x.json")
    assert not wanted(
        "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/02/x_CloudTrail-Digest.json.gz"
    )
    assert not wanted("AWSLogs/readme.txt")


# -- files -> events --------------------------------------------------------------------------
OBJ = S3Object("trail", KEY)


def _events(lines: list[bytes]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_each_record_becomes_one_event_line():
    recs = records(3)
    lines = hec_lines(log_file(recs), OBJ, index="aws", host="ingest-1")
    assert all(b"\n" not in line for line in lines)
    events = _events(lines)
    assert [e["event"] for e in events] == recs
    first = events[0]
    assert first["sourcetype"] == "aws:cloudtrail"
    assert first["source"] == f"s3://trail/{KEY}"
    assert first["index"] == "aws"
    assert first["host"] == "ingest-1"
    assert first["time"] == 1793628000  # 2026-11-02T14:00:00Z
    assert events[2]["time"] == 1793628002
    assert list(first)[-1] == "event"  # "event" last: the stand-in's fast path


def test_event_text_is_the_records_own_text():
    """The record's bytes reach Splunk as CloudTrail wrote them (Splunk's _raw)."""
    text = '{"Records": [{"eventTime": "2026-11-02T14:00:00Z", "b": 1, "a": [1, 2]}]}'
    [line] = hec_lines(text.encode(), OBJ, index="main", host="h")
    assert line.endswith(b'"event":{"eventTime": "2026-11-02T14:00:00Z", "b": 1, "a": [1, 2]}}')


def test_pretty_printed_records_become_one_line_each():
    recs = records(2)
    data = json.dumps({"Records": recs}, indent=2).encode()
    lines = hec_lines(data, OBJ, index="main", host="h")
    assert len(lines) == 2 and all(b"\n" not in line for line in lines)
    assert [e["event"] for e in _events(lines)] == recs


def test_time_variants():
    recs = [
        {"eventTime": "2026-11-02T14:00:00.250Z"},
        {"eventTime": "2026-11-02T14:00:00"},  # no zone: UTC, as CloudTrail means
        {"eventTime": "yesterday"},
        {"eventName": "NoTime"},
    ]
    events = _events(hec_lines(log_file(recs), OBJ, index="main", host="h"))
    assert events[0]["time"] == 1793628000.25
    assert events[1]["time"] == 1793628000
    assert "time" not in events[2] and "time" not in events[3]  # HEC uses the arrival time


def test_non_ascii_survives():
    recs = [{"eventTime": "2026-11-02T14:00:00Z", "userAgent": "Bücher/1.0 ☁"}]
    [event] = _events(hec_lines(log_file(recs), OBJ, index="main", host="h"))
    assert event["event"]["userAgent"] == "Bücher/1.0 ☁"


def test_other_shapes_go_through_the_cloudtrail_reader():
    recs = records(2)
    jsonl = "\n".join(json.dumps(r) for r in recs).encode()
    obj = S3Object("trail", "logs/x.jsonl")
    assert [e["event"] for e in _events(hec_lines(jsonl, obj, index="main", host="h"))] == recs
    extra = gzip.compress(
        json.dumps({"Records": recs, "Digest": "x"}).encode()
    )  # keys after Records
    assert [e["event"] for e in _events(hec_lines(extra, OBJ, index="main", host="h"))] == recs


def test_empty_records_make_no_events():
    assert hec_lines(log_file([]), OBJ, index="main", host="h") == []


@pytest.mark.parametrize(
    "data, reason",
    [
        (log_file(records(50))[:-20], "truncated gzip"),
        (b"\x1f\x8b" + b"garbage" * 20, "corrupt gzip"),
        (gzip.compress(b'{"Records": [{"a": 1},'), "invalid JSON"),
        (gzip.compress(b'{"NotRecords": []}'), 'no "Records" list'),
        (gzip.compress(b'{"Records": [1, 2]}'), "not a JSON object"),
        (gzip.compress(b""), "empty file"),
        (b"plain text", "not a gzip file"),
        (gzip.compress(b'{"Records": [{"n": NaN}]}'), "not valid JSON for HEC"),
    ],
)
def test_unreadable_files_raise_with_a_reason(data, reason):
    with pytest.raises(CorruptLogError, match=reason):
        hec_lines(data, OBJ, index="main", host="h")


def test_concatenated_gzip_members_are_all_read():
    """Two gzip members in one object (what appending writers make): nothing is dropped."""
    first, second = records(2, "one"), records(3, "two")
    data = gzip.compress(json.dumps({"Records": first}).encode() + b"\n") + gzip.compress(
        json.dumps({"Records": second}).encode()
    )
    events = _events(hec_lines(data, OBJ, index="main", host="h"))
    assert [e["event"] for e in events] == first + second


# -- settings ---------------------------------------------------------------------------------
def test_from_settings_names_what_is_missing(monkeypatch):
    from helpers.config import MissingSetting, Settings
    from helpers.ingest import Ingester

    for name in ("SPLUNK_HEC_URL", "SPLUNK_HEC_TOKEN", "SPLUNK_INDEX", "CLOUDTRAIL_QUEUE"):
        monkeypatch.delenv(name, raising=False)

    base = {"aws_default_region": "us-east-1", "aws_endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(MissingSetting, match="SPLUNK_HEC_URL"):
        Ingester.from_settings(Settings(**base), queue="q")
    settings = Settings(
        **base,
        splunk_hec_url="https://splunk.example.com:8088",
        splunk_hec_token="secret",
        splunk_index="aws",
        cloudtrail_queue="lab-cloudtrail-ingest",
    )
    with Ingester.from_settings(settings) as ingester:
        assert ingester.queue == "lab-cloudtrail-ingest"
        assert ingester.index == "aws"
        assert ingester.hec.event_url == "https://splunk.example.com:8088/services/collector/event"
