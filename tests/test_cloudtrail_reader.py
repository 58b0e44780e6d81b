"""helpers.cloudtrail: reading CloudTrail files from disk and S3, and Splunk-style flattening.

Fixtures are the AWS CloudTrail User Guide's example records (tests/fixtures/cloudtrail/README.md),
rebuilt by ``tests/fixtures/cloudtrail/make_fixtures.py``.
"""

from __future__ import annotations

import doctest
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from helpers import cloudtrail
from helpers.cloudtrail import CorruptLogError, Skipped, flatten, parse_log, read_files, read_s3

FIXTURES = Path(__file__).parent / "fixtures" / "cloudtrail"
TRAIL = FIXTURES / "trail"
DAYS = TRAIL / "AWSLogs/123456789012/CloudTrail/us-east-1/2023/07"
GZ_FILE = DAYS / "19/123456789012_CloudTrail_us-east-1_20230719T2120Z_EXAMPLEa1b2c3d4e.json.gz"
JSON_FILE = DAYS / "19/123456789012_CloudTrail_us-east-1_20230719T2140Z_EXAMPLEf5g6h7i8j.json"
NEXT_DAY = DAYS / "20/123456789012_CloudTrail_us-east-1_20230720T0005Z_EXAMPLEk9l0m1n2o.json.gz"
LINES = FIXTURES / "lines" / "events.jsonl"
CORRUPT = FIXTURES / "corrupt"
SOURCE = json.loads((FIXTURES / "source" / "records.json").read_text())
TRAIL_ORDER = [
    "StartInstances",
    "CreateUser",
    "StartLogging",
    "UpdateTrail",
    "ConsoleLogin",
    "AuthorizeSecurityGroupIngress",
]
# file name -> words its reason must contain
BROKEN = {
    "bad-gzip.json.gz": "corrupt gzip",
    "not-gzip.json.gz": "not a gzip file",
    "truncated.json.gz": "truncated gzip",
    "invalid.json": "invalid JSON",
    "no-records.json": '"Records"',
}
CIDR_FIELD = "requestParameters.ipPermissions.items{}.ipRanges.items{}.cidrIp"


def names(records) -> list[str]:
    return [r["eventName"] for r in records]


# -- reading files ---------------------------------------------------------------------------


def test_json_gz_file_yields_its_records_in_order():
    records = list(read_files(GZ_FILE))
    assert names(records) == ["StartInstances", "CreateUser"]
    assert records[0] == SOURCE["StartInstances"]


def test_plain_json_file():
    assert names(read_files(str(JSON_FILE))) == ["StartLogging", "UpdateTrail"]


def test_json_lines_file():
    assert list(read_files(LINES)) == [
        SOURCE["ConsoleLogin"],
        SOURCE["AuthorizeSecurityGroupIngress"],
    ]


def test_json_lines_named_json_and_single_line_jsonl(tmp_path):
    lines = LINES.read_text()
    (tmp_path / "export.json").write_text(lines)
    (tmp_path / "one.jsonl").write_text(json.dumps(SOURCE["CreateUser"]) + "\n")
    skipped = []
    records = list(read_files(tmp_path, on_error=skipped.append))
    assert names(records) == ["ConsoleLogin", "AuthorizeSecurityGroupIngress", "CreateUser"]
    assert skipped == []


def test_directory_walk_is_recursive_sorted_and_ignores_digests_and_other_files(tmp_path):
    shutil.copytree(TRAIL, tmp_path / "trail")
    (tmp_path / "trail" / "notes.txt").write_text("not a log")
    skipped = []
    records = list(read_files(tmp_path / "trail", on_error=skipped.append))
    assert names(records) == TRAIL_ORDER
    assert skipped == []


def test_several_paths_are_read_in_the_order_given():
    records = read_files([NEXT_DAY, LINES, GZ_FILE])
    assert names(records) == [
        "ConsoleLogin",
        "AuthorizeSecurityGroupIngress",
        "ConsoleLogin",
        "AuthorizeSecurityGroupIngress",
        "StartInstances",
        "CreateUser",
    ]


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_broken_file_is_reported_by_name_and_skipped(broken, caplog):
    skipped = []
    path = CORRUPT / broken
    with caplog.at_level(logging.WARNING, logger="helpers.cloudtrail"):
        records = list(read_files([GZ_FILE, path, NEXT_DAY], on_error=skipped.append))
    assert names(records) == [
        "StartInstances",
        "CreateUser",
        "ConsoleLogin",
        "AuthorizeSecurityGroupIngress",
    ]
    assert [s.source for s in skipped] == [str(path)]
    assert BROKEN[broken] in skipped[0].reason
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in warning.getMessage()
    assert BROKEN[broken] in warning.getMessage()


def test_broken_files_inside_a_trail_directory_do_not_stop_the_walk(tmp_path):
    shutil.copytree(TRAIL, tmp_path / "trail")
    day = tmp_path / "trail/AWSLogs/123456789012/CloudTrail/us-east-1/2023/07/19"
    for broken in BROKEN:
        shutil.copy(CORRUPT / broken, day / broken)
    skipped = []
    records = list(read_files(tmp_path / "trail", on_error=skipped.append))
    assert names(records) == TRAIL_ORDER
    assert [Path(s.source).name for s in skipped] == sorted(BROKEN)


def test_missing_path_is_reported_not_raised(tmp_path):
    skipped = []
    records = list(read_files([tmp_path / "nope.json.gz", GZ_FILE], on_error=skipped.append))
    assert names(records) == ["StartInstances", "CreateUser"]
    assert skipped[0].source == str(tmp_path / "nope.json.gz")


def test_on_error_may_raise_to_stop_reading():
    def stop(skipped: Skipped):
        raise RuntimeError(skipped.source)

    reader = read_files([GZ_FILE, CORRUPT / "invalid.json", NEXT_DAY], on_error=stop)
    assert names([next(reader), next(reader)]) == ["StartInstances", "CreateUser"]
    with pytest.raises(RuntimeError, match=r"invalid\.json"):
        next(reader)


def test_without_on_error_broken_files_are_still_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="helpers.cloudtrail"):
        assert list(read_files(CORRUPT / "truncated.json.gz")) == []
    assert "truncated.json.gz" in caplog.text


# -- parse_log: the contract for one object's bytes (used by ingest) ---------------------------


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "x.json", "empty file"),
        (b'{"Records": {"eventName": "A"}}', "x.json", '"Records"'),
        (b'{"Records": ["A"]}', "x.json", "Records[0]"),
        (b"[]", "x.json", '"Records"'),
        (b'{"eventName": "A"}\n{"eventName": ', "x.jsonl", "line 2"),
        (b'{"eventName": "A"}\n[1]\n', "x.json", "line 2 is not a JSON object"),
        (b'{"Records": []}\n{"Records": 1}\n', "x.json", "log on line 2"),
        (b"\xff\xfe{}", "x.json", "UTF-8"),
    ],
)
def test_parse_log_rejects_the_whole_file(data, name, reason):
    with pytest.raises(CorruptLogError, match=re.escape(reason)):
        parse_log(data, name)


def test_parse_log_detects_gzip_by_content_and_accepts_empty_records():
    assert parse_log(GZ_FILE.read_bytes(), "no-suffix") == [
        SOURCE["StartInstances"],
        SOURCE["CreateUser"],
    ]
    assert parse_log(b'{"Records": []}', "x.json") == []
    # whole CloudTrail documents, one per line (concatenated log files)
    doc = json.dumps({"Records": [SOURCE["StartLogging"], SOURCE["UpdateTrail"]]})
    assert (
        names(parse_log(f"{doc}\n{doc}\n".encode(), "x.json"))
        == ["StartLogging", "UpdateTrail"] * 2
    )


# -- reading from S3 (moto) -------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="trail-bucket")
        for path in sorted(p for p in TRAIL.rglob("*") if p.is_file()):
            key = path.relative_to(TRAIL).as_posix()
            client.put_object(Bucket="trail-bucket", Key=key, Body=path.read_bytes())
        yield client


def test_read_s3_reads_the_trail_in_key_order(s3):
    skipped = []
    records = list(read_s3(s3, "trail-bucket", on_error=skipped.append))
    assert names(records) == TRAIL_ORDER
    assert records[-1] == SOURCE["AuthorizeSecurityGroupIngress"]
    assert skipped == []


def test_read_s3_skips_broken_objects_by_name_and_ignores_non_logs(s3):
    day = "AWSLogs/123456789012/CloudTrail/us-east-1/2023/07/19/"
    for broken in BROKEN:
        s3.put_object(Bucket="trail-bucket", Key=day + broken, Body=(CORRUPT / broken).read_bytes())
    s3.put_object(Bucket="trail-bucket", Key="AWSLogs/123456789012/vpcflowlogs/x.log.gz", Body=b"")
    s3.put_object(Bucket="trail-bucket", Key="AWSLogs/123456789012/CloudTrail/", Body=b"")
    skipped = []
    records = list(read_s3(s3, "trail-bucket", "AWSLogs/", on_error=skipped.append))
    assert names(records) == TRAIL_ORDER
    assert [s.source for s in skipped] == [f"s3://trail-bucket/{day}{b}" for b in sorted(BROKEN)]
    assert "truncated gzip" in skipped[-1].reason


def test_read_s3_prefix_and_start_after(s3):
    day19 = "AWSLogs/123456789012/CloudTrail/us-east-1/2023/07/19/"
    assert names(read_s3(s3, "trail-bucket", day19)) == TRAIL_ORDER[:4]
    first = f"{day19}{GZ_FILE.name}"
    assert names(read_s3(s3, "trail-bucket", start_after=first)) == TRAIL_ORDER[2:]


def test_read_s3_paginates(s3):
    # A client whose listing pages hold one key each: every page must be followed.
    class OneKeyPages:
        def __init__(self, client):
            self.client = client

        def get_paginator(self, name):
            paginator = self.client.get_paginator(name)

            class Paged:
                def paginate(self, **kwargs):
                    return paginator.paginate(**kwargs, PaginationConfig={"PageSize": 1})

            return Paged()

        def get_object(self, **kwargs):
            return self.client.get_object(**kwargs)

    assert names(read_s3(OneKeyPages(s3), "trail-bucket")) == TRAIL_ORDER


def test_read_s3_skips_objects_that_cannot_be_fetched(s3):
    class Denying:
        def get_paginator(self, name):
            return s3.get_paginator(name)

        def get_object(self, Bucket, Key):
            if Key.endswith(JSON_FILE.name):
                error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
                raise ClientError(error, "GetObject")
            return s3.get_object(Bucket=Bucket, Key=Key)

    skipped = []
    records = list(read_s3(Denying(), "trail-bucket", on_error=skipped.append))
    assert names(records) == TRAIL_ORDER[:2] + TRAIL_ORDER[4:]
    assert skipped[0].source.endswith(JSON_FILE.name)
    assert "AccessDenied" in skipped[0].reason


def test_read_s3_listing_errors_raise(s3):
    with pytest.raises(ClientError, match="NoSuchBucket"):
        list(read_s3(s3, "no-such-bucket"))


# -- flatten: Splunk's JSON field names and values --------------------------------------------


def test_flatten_nested_objects_join_with_dots():
    fields = flatten(SOURCE["StartInstances"])
    assert fields["userIdentity.accessKeyId"] == "AKIAIOSFODNN7EXAMPLE"
    assert fields["userIdentity.sessionContext.attributes.mfaAuthenticated"] == "false"
    assert fields["tlsDetails.tlsVersion"] == "TLSv1.2"
    assert fields["eventName"] == "StartInstances"


def test_flatten_arrays_of_objects_become_multivalue_fields():
    fields = flatten(SOURCE["StartInstances"])
    assert fields["requestParameters.instancesSet.items{}.instanceId"] == [
        "i-EXAMPLE56126103cb",
        "i-EXAMPLEaff4840c22",
    ]
    assert fields["responseElements.instancesSet.items{}.currentState.code"] == ["0", "0"]
    assert fields["responseElements.instancesSet.items{}.previousState.name"] == [
        "stopped",
        "stopped",
    ]


def test_flatten_arrays_within_arrays_and_single_values_through_arrays():
    fields = flatten(SOURCE["AuthorizeSecurityGroupIngress"])
    assert fields[CIDR_FIELD] == ["0.0.0.0/0", "198.51.100.0/24"]
    # a name with {} is always multivalue, even with one value (as in Splunk's SPL engine)
    assert fields["requestParameters.ipPermissions.items{}.fromPort"] == ["3389"]
    assert fields["requestParameters.ipPermissions.items{}.ipProtocol"] == ["tcp"]
    assert fields["responseElements.securityGroupRuleSet.items{}.cidrIpv4"] == [
        "0.0.0.0/0",
        "198.51.100.0/24",
    ]


def test_flatten_single_open_rule_is_still_a_list():
    record = json.loads(json.dumps(SOURCE["AuthorizeSecurityGroupIngress"]))
    record["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"] = [
        {"cidrIp": "0.0.0.0/0"}
    ]
    assert flatten(record)[CIDR_FIELD] == ["0.0.0.0/0"]


def test_flatten_drops_nulls_and_empty_objects_and_arrays():
    start_logging = flatten(SOURCE["StartLogging"])
    assert not any(k.startswith("responseElements") for k in start_logging)
    login = flatten(SOURCE["ConsoleLogin"])
    assert not any(k.startswith("requestParameters") for k in login)
    start = flatten(SOURCE["StartInstances"])
    assert not any(".sessionIssuer" in k or ".webIdFederationData" in k for k in start)
    sg = flatten(SOURCE["AuthorizeSecurityGroupIngress"])
    assert not any(k.endswith(("groups", "ipv6Ranges", "prefixListIds")) for k in sg)
    assert flatten({"a": [], "b": {}, "c": None, "d": [None], "e": [{}, []]}) == {}
    assert flatten({"a": [1, None, 2]}) == {"a{}": ["1", "2"]}


def test_flatten_values_are_splunk_text():
    fields = flatten(SOURCE["UpdateTrail"])
    assert fields["readOnly"] == "false"
    assert fields["managementEvent"] == "true"
    assert fields["requestParameters.isMultiRegionTrail"] == "true"
    assert fields["errorCode"] == "TrailNotFoundException"
    assert flatten({"n": 80, "f": 1.5, "neg": -1, "s": "", "t": True}) == {
        "n": "80",
        "f": "1.5",
        "neg": "-1",
        "s": "",
        "t": "true",
    }
    # an empty string is a value (ConsoleLogin's accessKeyId), unlike null
    assert flatten(SOURCE["ConsoleLogin"])["userIdentity.accessKeyId"] == ""


def test_flatten_nested_arrays_keep_order_and_duplicates():
    assert flatten({"a": [[1, 2], [3]], "b": [{"c": "x"}, {"c": "x"}]}) == {
        "a{}{}": ["1", "2", "3"],
        "b{}.c": ["x", "x"],
    }


def test_flatten_is_the_one_the_spl_engine_uses():
    from helpers.runtime import fields
    from labstack.splunk.spl import fields as spl_fields

    assert flatten is fields.flatten is spl_fields.flatten
    assert spl_fields.scalar_text is fields.scalar_text


def test_flatten_leaves_the_record_unchanged():
    record = json.loads(json.dumps(SOURCE["AuthorizeSecurityGroupIngress"]))
    flatten(record)
    assert record == SOURCE["AuthorizeSecurityGroupIngress"]


# -- to_frame ---------------------------------------------------------------------------------


def test_to_frame_columns_and_utc_time():
    frame = cloudtrail.to_frame(read_files(TRAIL))
    assert len(frame) == 6
    assert frame.columns[0] == "_time"
    assert str(frame["_time"].dt.tz) == "UTC"
    assert frame["_time"].iloc[0] == pd.Timestamp("2023-07-19T21:17:28Z")
    assert list(frame["eventName"]) == TRAIL_ORDER
    for column in ("userIdentity.accessKeyId", CIDR_FIELD, "errorCode", "eventTime"):
        assert column in frame.columns
    sg = frame.iloc[5]
    assert sg[CIDR_FIELD] == ["0.0.0.0/0", "198.51.100.0/24"]
    assert frame["_time"].is_monotonic_increasing


def test_to_frame_empty_and_missing_event_time():
    empty = cloudtrail.to_frame([])
    assert list(empty.columns) == ["_time"]
    assert len(empty) == 0
    frame = cloudtrail.to_frame([{"eventName": "X"}, SOURCE["CreateUser"]])
    assert pd.isna(frame["_time"].iloc[0])
    assert frame["_time"].iloc[1] == pd.Timestamp("2023-07-19T21:18:02Z")


# -- the module itself ------------------------------------------------------------------------


def test_docstring_examples_run():
    result = doctest.testmod(cloudtrail, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 3


def test_public_functions_have_docstring_examples():
    for name in cloudtrail.__all__:
        obj = getattr(cloudtrail, name)
        if callable(obj) and not isinstance(obj, type):
            assert ">>>" in (obj.__doc__ or ""), name
        elif isinstance(obj, type):
            assert obj.__doc__, name


def test_import_needs_no_labstack_pandas_or_clients():
    code = (
        "import sys, helpers.cloudtrail; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('labstack', 'pandas', 'boto3')]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert out.stdout.strip() == "[]"
