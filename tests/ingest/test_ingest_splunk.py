"""Integration: CloudTrail files through SQS and ``helpers.ingest`` into the Splunk stand-in,
counted with Splunk's search API (splunklib), and the world's own ``ingest`` service."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime
from urllib.parse import urlsplit

import pytest
import splunklib.client as splunk_client
import splunklib.results as splunk_results

from helpers import simulate
from helpers.aws import actor_session
from helpers.ingest import HecClient
from labstack import services as registry
from labstack.world import free_port
from tests.ingest.conftest import log_file, records, until

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        "splunk" not in {s.name for s in registry.all_services()},
        reason="the Splunk-compatible service is not registered in labstack.services yet",
    ),
]
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def splunk(lab_world) -> splunk_client.Service:
    url = urlsplit(lab_world.settings["SPLUNK_URL"])
    return splunk_client.connect(
        host=url.hostname,
        port=url.port,
        scheme=url.scheme,
        username=lab_world.settings["SPLUNK_USERNAME"],
        password=lab_world.settings["SPLUNK_PASSWORD"],
    )


@pytest.fixture
def index(splunk):
    name = f"ingest-{uuid.uuid4().hex[:10]}"
    splunk.indexes.create(name)
    yield name
    if name in splunk.indexes:
        splunk.indexes.delete(name)


def _rows(splunk, spl: str) -> list[dict]:
    stream = splunk.jobs.oneshot(spl, output_mode="json", count=0)
    return [r for r in splunk_results.JSONResultsReader(stream) if isinstance(r, dict)]


def _count(splunk, spl: str) -> int:
    return int(_rows(splunk, spl + " | stats count")[0]["count"])


def _hec(lab_world) -> tuple[str, str]:
    return lab_world.settings["SPLUNK_HEC_URL"], lab_world.settings["SPLUNK_HEC_TOKEN"]


def test_records_are_searchable_with_cloudtrail_metadata(
    lab_world, splunk, index, pipeline, ingester_for
):
    p = pipeline()
    files = [records(20, f"s{i}") for i in range(3)]
    keys = [p.put(log_file(recs)) for recs in files]
    ingester = ingester_for(p, *_hec(lab_world), index=index)
    assert ingester.run(once=True)
    assert _count(splunk, f"search index={index}") == 60
    rows = _rows(
        splunk,
        f'search index={index} eventID="{files[1][3]["eventID"]}" '
        "| table _time source sourcetype host eventName userIdentity.userName",
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["source"] == f"s3://{p.bucket}/{keys[1]}"
    assert row["sourcetype"] == "aws:cloudtrail"
    assert row["host"] == "ingest-test"
    assert row["eventName"] == "DescribeInstances"
    assert row["userIdentity.userName"] == "developer"
    expected = datetime.fromisoformat(files[1][3]["eventTime"]).timestamp()
    assert datetime.fromisoformat(row["_time"]).timestamp() == expected


def test_hec_down_then_up_is_delivered_exactly_once(
    lab_world, splunk, index, pipeline, ingester_for
):
    p = pipeline()
    files = [records(15, f"u{i}") for i in range(4)]
    for recs in files:
        p.put(log_file(recs))
    url, token = _hec(lab_world)
    ingester = ingester_for(p, f"http://127.0.0.1:{free_port()}", token, index=index)
    ingester.retry_visibility = 0
    assert not ingester.run(once=True)  # connection refused
    assert p.depth() == 4
    assert ingester.stats["events"] == 0
    ingester.hec = HecClient(url, token)
    assert ingester.run(once=True)
    assert p.depth() == 0
    assert p.dead_letters() == []
    assert _count(splunk, f"search index={index}") == 60
    assert ingester.run(once=True)  # nothing left, nothing sent twice
    assert _count(splunk, f"search index={index}") == 60
    ids = {r["eventID"] for f in files for r in f}
    found = {row["eventID"] for row in _rows(splunk, f"search index={index} | table eventID")}
    assert found == ids


def test_the_lab_service_reports_health_and_counters(lab_world):
    with _DIRECT.open(lab_world.url("ingest") + "/_lab/health", timeout=10) as resp:
        assert resp.status == 200
        info = json.loads(resp.read())
    assert info["ready"] is True
    assert info["queue"] == lab_world.settings["CLOUDTRAIL_QUEUE"]
    for name in ("messages", "files", "events", "failures", "last_error"):
        assert name in info
    assert lab_world.settings["SPLUNK_HEC_TOKEN"] not in json.dumps(info)


def test_the_lab_service_ingests_the_trail(lab_world, splunk):
    """The world's own pipeline: an API call -> CloudTrail file -> SNS -> SQS -> ingest -> HEC."""
    agent = f"ingest-e2e/{uuid.uuid4().hex}"
    caller = actor_session(
        lab_world.settings["AWS_ACCESS_KEY_ID"],
        lab_world.settings["AWS_SECRET_ACCESS_KEY"],
        source_ip="192.0.2.44",
        user_agent=agent,
    )
    caller.client("ec2").describe_vpcs()
    simulate.flush()
    search = f'search index=main sourcetype=aws:cloudtrail userAgent="{agent}"'
    assert until(lambda: _count(splunk, search) >= 1, attempts=300, pause=0.1)
    rows = _rows(splunk, search + " | table eventName source")
    assert [r["eventName"] for r in rows] == ["DescribeVpcs"]
    assert rows[0]["source"].startswith(f"s3://{lab_world.settings['CLOUDTRAIL_BUCKET']}/AWSLogs/")
