"""Reading what the emulated CloudTrail delivered, for the stack tests."""

from __future__ import annotations

import gzip
import json
import time

from helpers import simulate
from helpers.aws import session


def delivered(bucket: str, after: str = "") -> list[tuple[str, dict]]:
    """(key, record) for every record in the trail bucket, in key order."""
    s3 = session().client("s3")
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="AWSLogs/"):
        for obj in page.get("Contents", []):
            if obj["Key"] <= after:
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            for record in json.loads(gzip.decompress(body))["Records"]:
                out.append((obj["Key"], record))
    return out


def find(bucket: str, predicate, timeout: float = 15.0, flush: bool = True) -> list[dict]:
    """Records matching ``predicate``, waiting for delivery (flushing first unless told not to)."""
    deadline = time.monotonic() + timeout
    while True:
        if flush:
            simulate.flush()
        found = [r for _, r in delivered(bucket) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
