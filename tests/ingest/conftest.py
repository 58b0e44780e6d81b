"""Fixtures for the ingest tests: private queues and buckets in the session's world, a HEC stub
for unit tests, and the Splunk stand-in for integration tests.

The world's own ``ingest`` service consumes the trail queue, so these tests never use it: each
builds its own bucket -> (SNS ->) SQS pipeline with a dead-letter queue and points an
``Ingester`` at it.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpers.aws import session
from helpers.ingest import HecClient, Ingester
from tests.ingest.hecstub import HecStub

ACCOUNT = "123456789012"


def until(check, attempts: int = 200, pause: float = 0.05) -> bool:
    """Poll ``check`` a bounded number of times (no assertion on how long it took)."""
    for _ in range(attempts):
        if check():
            return True
        time.sleep(pause)
    return False


def records(n: int, tag: str = "t", start: datetime | None = None) -> list[dict]:
    """``n`` CloudTrail-shaped records, one second apart, each carrying ``tag``."""
    start = start or datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        out.append(
            {
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "IAMUser",
                    "accountId": ACCOUNT,
                    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                    "userName": "developer",
                },
                "eventTime": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "eventSource": "ec2.amazonaws.com",
                "eventName": "DescribeInstances",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": f"ingest-test/{tag}",
                "requestParameters": {"instancesSet": {}, "filterSet": {}},
                "responseElements": None,
                "requestID": str(uuid.uuid4()),
                "eventID": str(uuid.uuid4()),
                "readOnly": True,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT,
                "eventCategory": "Management",
            }
        )
    return out


def log_file(recs: list[dict]) -> bytes:
    return gzip.compress(json.dumps({"Records": recs}, separators=(",", ":")).encode())


def log_key(n: int = 0) -> str:
    return (
        f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/02/"
        f"{ACCOUNT}_CloudTrail_us-east-1_20261102T1400Z_{uuid.uuid4().hex[:16]}{n}.json.gz"
    )


class Pipeline:
    """A bucket whose new objects are announced on a queue with a dead-letter queue."""

    def __init__(self, via: str = "s3", visibility: int = 30, max_receives: int = 3):
        aws = session()
        self.s3, self.sqs, self.sns = aws.client("s3"), aws.client("sqs"), aws.client("sns")
        name = f"ingest-test-{uuid.uuid4().hex[:10]}"
        self.name, self.bucket = name, name
        self.dlq_url = self.sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        dlq_arn = self._arn(self.dlq_url)
        self.queue_url = self.sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
                ),
            },
        )["QueueUrl"]
        self.s3.create_bucket(Bucket=self.bucket)
        queue_arn = self._arn(self.queue_url)
        if via == "sns":
            topic = self.sns.create_topic(Name=name)["TopicArn"]
            self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
            config = {
                "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]
            }
        else:
            config = {
                "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
            }
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket, NotificationConfiguration=config
        )

    def _arn(self, url: str) -> str:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attrs["Attributes"]["QueueArn"]

    def put(self, data: bytes, key: str | None = None) -> str:
        key = key or log_key()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key

    def send(self, body: str) -> None:
        """A message that did not come from S3."""
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def depth(self, url: str | None = None) -> int:
        """Messages in the queue, visible or in flight."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    def dead_letters(self) -> list[str]:
        """Bodies in the dead-letter queue (made visible again for the next look)."""
        got = self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [m["Body"] for m in got.get("Messages", [])]

    def delete(self) -> None:
        for url in (self.queue_url, self.dlq_url):
            self.sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def pipeline(lab_world):
    """A private bucket -> SQS pipeline (VisibilityTimeout 30, maxReceiveCount 3)."""
    made = []

    def make(**options) -> Pipeline:
        made.append(Pipeline(**options))
        return made[-1]

    yield make
    for p in made:
        p.delete()


@pytest.fixture
def hec_stub():
    stub = HecStub().up()
    yield stub
    stub.down()


@pytest.fixture
def ingester_for():
    """``ingester_for(pipeline, hec_url, token, **options)``: an Ingester closed afterwards."""
    made = []

    def make(pipeline: Pipeline, url: str, token: str, **options) -> Ingester:
        options.setdefault("index", "main")
        options.setdefault("host", "ingest-test")
        ingester = Ingester(pipeline.queue_url, HecClient(url, token), session=session(), **options)
        made.append(ingester)
        return ingester

    yield make
    for ingester in made:
        ingester.close()
