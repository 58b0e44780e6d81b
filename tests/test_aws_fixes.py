"""labstack.aws.fixes: moto corrected where it differs from AWS, or is needlessly slow."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.core.utils import unix_time
from moto.sqs.models import Queue

from labstack.aws import fixes


@pytest.fixture(autouse=True)
def _aws_itself(monkeypatch):
    """In-process moto: a lab world's ``AWS_ENDPOINT_URL`` must not send these clients away."""
    import os

    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    fixes.apply()


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client(
            "sqs", region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )  # fmt: skip


def test_receiving_from_a_backlog_does_not_count_the_queue_for_each_message(sqs, monkeypatch):
    url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
    for start in range(0, 200, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    counted = []
    real = Queue.approximate_number_of_messages
    monkeypatch.setattr(
        Queue,
        "approximate_number_of_messages",
        property(lambda q: counted.append(1) or real.fget(q)),
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    assert counted == []  # moto counted all 200 messages once per message received


def test_messages_past_the_retention_period_are_still_dropped(sqs, monkeypatch):
    url = sqs.create_queue(QueueName="old", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="stale")
    now = unix_time()
    monkeypatch.setattr("labstack.aws.fixes.unix_time", lambda: now + 61)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    monkeypatch.setattr("labstack.aws.fixes.unix_time", lambda: now)
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["fresh"]
