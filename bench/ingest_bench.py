"""Benchmark: ingest throughput from .json.gz CloudTrail files through S3 -> SNS -> SQS ->
``helpers.ingest`` -> HEC, against what HEC itself accepts in the same run.

A private local world is started (moto with the CloudTrail recorder, the Splunk stand-in...) on
free ports. Each round writes N synthetic CloudTrail records (~700 bytes each) as gzip files of
``--per-file`` records into a bucket whose notifications reach a queue through SNS, as the lab's
trail does; the upload is not timed. Then, timed:

- baseline: the same events, already encoded, POSTed straight to HEC in batches of the ingester's
  default size over one keep-alive session (what HEC accepts; no SQS, S3, gzip or JSON work);
- ingest: a running ``Ingester`` (the service's loop) drains the queue into HEC (receive 10
  messages a call, fetch and parse in a thread pool, batched POSTs, delete after accept); the
  clock stops when the last file's message is deleted.

Both land in their own fresh index; the Splunk search API confirms every event arrived exactly
once. Figures: events/s for both (median of the rounds) and their ratio; aim: ingest at least
50,000 events/s.

    .venv/bin/python bench/ingest_bench.py [--events 200000] [--per-file 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
import splunklib.client as splunk_client
import splunklib.results as splunk_results

from helpers.aws import session
from helpers.config import load_settings
from helpers.ingest import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, HecClient, Ingester, S3Object
from helpers.ingest import hec_lines as encode
from labstack.world import World

ACCOUNT = "123456789012"
PROCS = ("aws", "splunk")
EVENTS = [
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("s3.amazonaws.com", "GetBucketAcl", True),
    ("iam.amazonaws.com", "ListUsers", True),
    ("sts.amazonaws.com", "GetCallerIdentity", True),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", False),
    ("cloudtrail.amazonaws.com", "DescribeTrails", True),
]


def synthetic_records(n: int, start: datetime) -> list[dict]:
    """CloudTrail-shaped management events, about 700 bytes each as compact JSON."""
    out = []
    for i in range(n):
        source, name, read_only = EVENTS[i % len(EVENTS)]
        out.append(
            {
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "IAMUser",
                    "principalId": "AIDAEXAMPLEDEVELOPER",
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/developer",
                    "accountId": ACCOUNT,
                    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                    "userName": "developer",
                },
                "eventTime": (start + timedelta(milliseconds=10 * i)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "eventSource": source,
                "eventName": name,
                "awsRegion": "us-east-1",
                "sourceIPAddress": f"198.51.100.{i % 250 + 1}",
                "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
                "requestParameters": {"maxResults": 100, "filterSet": {}},
                "responseElements": None,
                "requestID": str(uuid.uuid4()),
                "eventID": str(uuid.uuid4()),
                "readOnly": read_only,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT,
                "eventCategory": "Management",
            }
        )
    return out


def files_of(records: list[dict], per_file: int) -> list[tuple[str, bytes]]:
    files = []
    for start in range(0, len(records), per_file):
        chunk = records[start : start + per_file]
        key = (
            f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/02/"
            f"{ACCOUNT}_CloudTrail_us-east-1_20261102T1400Z_{uuid.uuid4().hex[:16]}.json.gz"
        )
        data = gzip.compress(json.dumps({"Records": chunk}, separators=(",", ":")).encode(), 6)
        files.append((key, data))
    return files


class Pipe:
    """Bucket -> SNS topic -> SQS queue (with a DLQ), like the lab trail's."""

    def __init__(self, aws):
        self.s3, self.sqs, sns = aws.client("s3"), aws.client("sqs"), aws.client("sns")
        name = f"bench-ingest-{uuid.uuid4().hex[:8]}"
        self.bucket = name
        dlq = self.sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        dlq_arn = self._arn(dlq)
        self.queue_url = self.sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
            },
        )["QueueUrl"]
        topic = sns.create_topic(Name=name)["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=self._arn(self.queue_url))
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={
                "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]
            },
        )

    def _arn(self, url: str) -> str:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attrs["Attributes"]["QueueArn"]

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def upload(self, files: list[tuple[str, bytes]]) -> None:
        for key, data in files:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        while self.depth() < len(files):  # notifications are on their way
            time.sleep(0.05)


def baseline(hec: HecClient, files, bucket: str, index: str) -> float:
    """Events/s HEC accepts for pre-encoded events in the ingester's default batch size."""
    lines = [
        line
        for key, data in files
        for line in encode(data, S3Object(bucket, key), index=index, host="bench")
    ]
    bodies, batch, size = [], [], 0
    for line in lines:
        if batch and (size + len(line) + 1 > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_EVENTS):
            bodies.append(b"\n".join(batch))
            batch, size = [], 0
        batch.append(line)
        size += len(line) + 1
    bodies.append(b"\n".join(batch))
    started = time.perf_counter()
    for body in bodies:
        hec.send(body)
    return len(lines) / (time.perf_counter() - started)


def parse_rate(files, bucket: str) -> float:
    """Events/s for fetch-free decode + split + encode alone, in this process (one thread)."""
    started = time.perf_counter()
    count = sum(
        len(encode(data, S3Object(bucket, key), index="x", host="bench")) for key, data in files
    )
    return count / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ingest(pipe: Pipe, hec: HecClient, aws, index: str, files: int) -> tuple[float, dict]:
    """Seconds until the running input (the service's loop) has delivered and deleted every
    file's message, and its counters."""
    stop = threading.Event()
    with Ingester(pipe.queue_url, hec, session=aws, index=index, wait_seconds=1) as ingester:
        runner = threading.Thread(target=ingester.run, args=(stop,))
        started = time.perf_counter()
        runner.start()
        while ingester.stats["files"] < files and runner.is_alive():
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        stop.set()
        runner.join()
        return elapsed, ingester.stats.snapshot()


def count(splunk, index: str) -> int:
    stream = splunk.jobs.oneshot(f"search index={index} | stats count", output_mode="json")
    rows = [r for r in splunk_results.JSONResultsReader(stream) if isinstance(r, dict)]
    return int(rows[0]["count"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="lab-bench-ingest-")) / ".lab"
    world = World(home, free_ports=True)
    world.up()
    try:
        env = world.read_env()
        os.environ.update(env)
        os.environ["LAB_HOME"] = str(home)
        settings = load_settings()
        aws = session(settings)
        url = urlsplit(env["SPLUNK_URL"])
        splunk = splunk_client.connect(
            host=url.hostname,
            port=url.port,
            scheme=url.scheme,
            username=env["SPLUNK_USERNAME"],
            password=env["SPLUNK_PASSWORD"],
        )
        hec = HecClient(env["SPLUNK_HEC_URL"], env["SPLUNK_HEC_TOKEN"], session=requests.Session())
        hec.session.trust_env = False
        pipe = Pipe(aws)
        records = synthetic_records(args.events, datetime(2026, 11, 2, 14, 0, tzinfo=UTC))
        record_bytes = statistics.mean(
            len(json.dumps(r, separators=(",", ":"))) for r in records[:1000]
        )
        pids = {r.service.name: r.pid for r in world.statuses() if r.service.name in PROCS}
        pids["ingest"] = os.getpid()
        base_rates, ingest_rates, parse_rates, cpu = [], [], [], []
        for round_ in range(args.rounds):
            files = files_of(records, args.per_file)
            base_ix, ingest_ix = f"bench-base-{round_}", f"bench-ingest-{round_}"
            for index in (base_ix, ingest_ix):
                if index not in splunk.indexes:
                    splunk.indexes.create(index)
            parse_rates.append(parse_rate(files, pipe.bucket))
            base_rates.append(baseline(hec, files, pipe.bucket, base_ix))
            pipe.upload(files)
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            elapsed, stats = run_ingest(pipe, hec, aws, ingest_ix, len(files))
            cpu.append({name: cpu_seconds(pid) - before[name] for name, pid in pids.items()})
            if stats["events"] != args.events or stats["failures"]:
                raise SystemExit(f"ingest round {round_} incomplete: {stats}")
            ingest_rates.append(args.events / elapsed)
            for index in (base_ix, ingest_ix):
                found = count(splunk, index)
                if found != args.events:
                    raise SystemExit(f"index {index} holds {found} events, not {args.events}")
        base, ingest = statistics.median(base_rates), statistics.median(ingest_rates)
        report = {
            "events_per_round": args.events,
            "records_per_file": args.per_file,
            "files_per_round": len(files),
            "record_bytes_mean": round(record_bytes),
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "hec_accept_events_per_second": round(base),
            "ingest_events_per_second": round(ingest),
            "ingest_over_hec_accept": round(ingest / base, 3),
            "decode_encode_only_events_per_second": round(statistics.median(parse_rates)),
            "ingest_events_per_second_rounds": [round(r) for r in ingest_rates],
            "hec_accept_events_per_second_rounds": [round(r) for r in base_rates],
            "aim_events_per_second": 50_000,
            "batches_last_round": stats["batches"],
            # CPU seconds per 100,000 events during the ingest phase, by process (median):
            # moto + recorder ("aws"), the Splunk stand-in ("splunk"), this ingester ("ingest").
            "cpu_seconds_per_100k_events": {
                name: round(statistics.median(c[name] for c in cpu) * 100_000 / args.events, 2)
                for name in pids
            },
            "verified_in_splunk": True,
        }
        print(json.dumps(report, indent=2))
    finally:
        world.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
