"""The input against real SQS/S3 semantics (the session's moto world, private queues) and a HEC
stub that fails on demand. The Splunk stand-in is in test_ingest_splunk.py."""

from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import unquote_plus

import pytest
from botocore.exceptions import EndpointConnectionError

from helpers.ingest import HecClient
from tests.ingest.conftest import log_file, records, until

pytestmark = pytest.mark.stack


def _ids(events) -> list[str]:
    return [e["event"]["eventID"] for e in events]


def test_delivers_every_record_once_and_deletes_after_accept(pipeline, hec_stub, ingester_for):
    p = pipeline()
    files = [records(5, f"f{i}") for i in range(3)]
    for recs in files:
        p.put(log_file(recs))
    seen_in_queue = []
    hec_stub.hook = lambda: seen_in_queue.append(p.depth())
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    assert ingester.run(once=True)
    assert sorted(_ids(hec_stub.events)) == sorted(r["eventID"] for f in files for r in f)
    assert seen_in_queue and all(depth == 3 for depth in seen_in_queue)  # not deleted yet
    assert p.depth() == 0
    stats = ingester.stats.snapshot()
    assert stats["files"] == 3 and stats["events"] == 15 and stats["failures"] == 0
    assert stats["test_events"] == 1  # S3's s3:TestEvent when notifications were configured
    event = hec_stub.events[0]
    assert event["source"].startswith(f"s3://{p.bucket}/AWSLogs/")
    assert (event["sourcetype"], event["index"], event["host"]) == (
        "aws:cloudtrail",
        "main",
        "ingest-test",
    )
    request = hec_stub.requests[0]["headers"]
    assert request["Authorization"] == f"Splunk {hec_stub.token}"
    assert request["X-Splunk-Request-Channel"]


def test_a_duplicated_notification_is_acknowledged_without_sending_again(
    pipeline, hec_stub, ingester_for
):
    p = pipeline()
    recs = records(5, "dup")
    p.put(log_file(recs))
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    got = p.sqs.receive_message(QueueUrl=p.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    body = next(m["Body"] for m in got["Messages"] if "ObjectCreated" in m["Body"])
    assert ingester.run(once=True)
    p.send(body)  # S3 and SQS deliver at least once
    assert ingester.run(once=True)
    assert _ids(hec_stub.events) == [r["eventID"] for r in recs]
    assert ingester.stats["duplicates"] == 1
    assert p.depth() == 0


def test_messages_stay_hidden_while_a_slow_hec_works(pipeline, hec_stub, ingester_for):
    """A POST that outlasts the queue's visibility timeout while the loop keeps receiving: the
    heartbeat keeps the message hidden, so it is not received again and indexed twice."""
    p = pipeline(visibility=2)
    recs = records(5, "slow")
    p.put(log_file(recs))
    hec_stub.hook = lambda: time.sleep(5)
    ingester = ingester_for(p, hec_stub.url, hec_stub.token, wait_seconds=1)
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert until(lambda: p.depth() == 0, attempts=600)
    finally:
        stop.set()
        runner.join(timeout=60)  # whatever was received meanwhile is sent before run returns
    assert _ids(hec_stub.events) == [r["eventID"] for r in recs]
    assert ingester.stats["received"] == 2  # the file's message and S3's test event, once each


def test_s3_events_through_sns(pipeline, hec_stub, ingester_for):
    p = pipeline(via="sns")
    recs = records(4, "sns")
    p.put(log_file(recs))
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    assert ingester.run(once=True)
    assert _ids(hec_stub.events) == [r["eventID"] for r in recs]
    assert p.depth() == 0


def test_many_records_per_post_within_limits(pipeline, hec_stub, ingester_for):
    p = pipeline()
    files = [records(40, f"b{i}") for i in range(6)]
    for recs in files:
        p.put(log_file(recs))
    ingester = ingester_for(p, hec_stub.url, hec_stub.token, max_batch_events=50)
    ingester.max_batch_bytes = 20_000
    assert ingester.run(once=True)
    sizes = [r["size"] for r in hec_stub.requests]
    assert all(size <= 20_000 for size in sizes)
    per_post = [body.count(b"\n") + 1 for body in hec_stub.bodies]
    assert all(n <= 50 for n in per_post) and sum(per_post) == 240
    assert len(set(_ids(hec_stub.events))) == 240
    assert len(sizes) >= sum(len(json.dumps(r)) for f in files for r in f) // 20_000


def test_default_batches_hold_many_files(pipeline, hec_stub, ingester_for):
    p = pipeline()
    for i in range(6):
        p.put(log_file(records(40, f"d{i}")))
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    assert ingester.run(once=True)
    assert len(hec_stub.events) == 240
    assert hec_stub.posts() < 6  # files share POSTs


def test_a_single_event_larger_than_the_limit_goes_alone(pipeline, hec_stub, ingester_for):
    p = pipeline()
    recs = records(3, "big")
    recs[1]["requestParameters"] = {"policy": "x" * 5000}
    p.put(log_file(recs))
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    ingester.max_batch_bytes = 3000
    assert ingester.run(once=True)
    assert [body.count(b"\n") + 1 for body in hec_stub.bodies] == [1, 1, 1]
    assert _ids(hec_stub.events) == [r["eventID"] for r in recs]


def test_poison_file_goes_to_the_dlq_and_the_rest_is_delivered(
    pipeline, hec_stub, ingester_for, caplog
):
    p = pipeline(visibility=1, max_receives=2)
    good = [records(5, "good1"), records(7, "good2")]
    p.put(log_file(good[0]))
    bad_key = p.put(log_file(records(50, "bad"))[:-30])  # truncated gzip
    p.put(log_file(good[1]))
    p.send("this is not a notification")
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    caplog.set_level(logging.ERROR, logger="helpers.ingest")
    for _ in range(20):  # each pass waits for the queue's 1 s visibility timeout to run out
        ingester.run(once=True)
        if p.depth() == 0:
            break
        time.sleep(0.5)
    assert p.depth() == 0
    dead = p.dead_letters()
    assert len(dead) == 2
    assert any(bad_key in unquote_plus(body) for body in dead)  # keys are URL-encoded
    assert "this is not a notification" in dead
    assert sorted(_ids(hec_stub.events)) == sorted(r["eventID"] for f in good for r in f)
    assert f"s3://{p.bucket}/{bad_key}" in caplog.text
    assert "truncated gzip" in caplog.text
    assert ingester.stats["failures"] >= 4  # two receives each for two poison messages


def test_hec_down_then_up_delivers_exactly_once(pipeline, hec_stub, ingester_for):
    p = pipeline()
    files = [records(10, f"h{i}") for i in range(4)]
    hec_stub.down()  # connection refused
    for recs in files:
        p.put(log_file(recs))
    ingester = ingester_for(
        p, hec_stub.url, hec_stub.token, wait_seconds=1, retry_visibility=0, backoff=(0.2, 1.0)
    )
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert until(lambda: ingester.stats.state == "waiting for HEC")
        assert p.depth() == 4  # nothing deleted
        assert p.dead_letters() == []
        assert "HEC unreachable" in ingester.stats.last_error
        hec_stub.up()
        assert until(lambda: ingester.stats["events"] == 40, attempts=600)
        assert until(lambda: p.depth() == 0)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
    ids = _ids(hec_stub.events)
    assert len(ids) == 40 and sorted(ids) == sorted(r["eventID"] for f in files for r in f)
    assert p.dead_letters() == []


@pytest.mark.parametrize("mode", ["busy", "error", "bad-token"])
def test_hec_errors_leave_messages_in_the_queue(pipeline, hec_stub, ingester_for, mode):
    p = pipeline()
    recs = records(5, mode)
    p.put(log_file(recs))
    hec_stub.mode = mode
    ingester = ingester_for(p, hec_stub.url, hec_stub.token, retry_visibility=0)
    assert not ingester.run(once=True)
    assert hec_stub.events == []
    assert p.depth() == 1
    assert ingester.stats["hec_errors"] == 1
    hec_stub.mode = "ok"
    assert ingester.run(once=True)
    assert _ids(hec_stub.events) == [r["eventID"] for r in recs]
    assert p.depth() == 0


def test_a_refused_token_sends_nothing_to_the_dlq_while_it_is_fixed(
    pipeline, hec_stub, ingester_for
):
    """A wrong token (or index) is a person's to fix: the batch is held and retried, nothing is
    received again meanwhile, so the messages do not run out of receives."""
    p = pipeline(visibility=1, max_receives=2)
    files = [records(4, f"tok{i}") for i in range(3)]
    for recs in files:
        p.put(log_file(recs))
    hec_stub.mode = "bad-token"
    ingester = ingester_for(p, hec_stub.url, hec_stub.token, wait_seconds=1, backoff=(0.05, 0.2))
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert until(lambda: ingester.stats["hec_errors"] >= 8, attempts=600)
        assert p.dead_letters() == []
        assert p.depth() == 3
        assert "Invalid token" in ingester.stats.last_error
        hec_stub.mode = "ok"
        assert until(lambda: ingester.stats["events"] == 12, attempts=600)
        assert until(lambda: p.depth() == 0)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert sorted(_ids(hec_stub.events)) == sorted(r["eventID"] for f in files for r in f)
    assert p.dead_letters() == []


def test_a_failed_receive_is_retried(pipeline, hec_stub, ingester_for):
    p = pipeline()
    recs = records(6, "flaky")
    p.put(log_file(recs))
    ingester = ingester_for(p, hec_stub.url, hec_stub.token, wait_seconds=1, backoff=(0.05, 0.1))
    receive, calls = ingester.sqs.receive_message, []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) <= 2:
            raise EndpointConnectionError(endpoint_url=p.queue_url)
        return receive(**kwargs)

    ingester.sqs.receive_message = flaky
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert until(lambda: ingester.stats["events"] == 6, attempts=600)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert _ids(hec_stub.events) == [r["eventID"] for r in recs]
    assert p.depth() == 0


def test_hec_health_probe(hec_stub):
    client = HecClient(hec_stub.url, hec_stub.token)
    assert client.healthy() is True
    hec_stub.mode = "busy"
    assert client.healthy() is False
    hec_stub.down()
    assert client.healthy() is False


def test_events_hec_refuses_are_isolated_to_their_message(pipeline, hec_stub, ingester_for):
    p = pipeline()
    good = records(6, "ok")
    p.put(log_file(good))
    p.put(log_file(records(3, "refused")))
    hec_stub.reject = lambda e: e["event"]["userAgent"] == "ingest-test/refused"
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    assert not ingester.run(once=True)
    assert _ids(hec_stub.events) == [r["eventID"] for r in good]
    assert p.depth() == 1  # the refused file's message: left for the dead-letter queue
    assert "Invalid data format" in ingester.stats.last_error


def test_413_halves_the_batches(pipeline, hec_stub, ingester_for):
    p = pipeline()
    files = [records(40, f"l{i}") for i in range(2)]
    for recs in files:
        p.put(log_file(recs))
    hec_stub.max_bytes = 30_000
    ingester = ingester_for(p, hec_stub.url, hec_stub.token)
    assert ingester.run(once=True)
    assert sorted(_ids(hec_stub.events)) == sorted(r["eventID"] for f in files for r in f)
    assert all(len(body) <= 30_000 for body in hec_stub.bodies)
    assert ingester.max_batch_bytes < 16 * 1024 * 1024


def test_hec_client_urls():
    base = HecClient("https://splunk.example.com:8088", "t")
    assert base.event_url == "https://splunk.example.com:8088/services/collector/event"
    assert base.health_url == "https://splunk.example.com:8088/services/collector/health"
    full = HecClient("https://splunk.example.com:8088/services/collector", "t")
    assert full.event_url == "https://splunk.example.com:8088/services/collector"
    assert full.health_url == "https://splunk.example.com:8088/services/collector/health"
    assert "secret-token" not in repr(HecClient("http://h:1", "secret-token"))
