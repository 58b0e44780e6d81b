"""What an SQS message asks the input to read: S3 event notifications, plain or inside SNS.

Four shapes arrive: a plain S3 event (``Records`` of ``ObjectCreated:*``), the same inside an
SNS envelope, CloudTrail's own ``s3ObjectKey`` notification, and S3's ``s3:TestEvent``.

>>> parse_notification('{"Service": "Amazon S3", "Event": "s3:TestEvent"}').kind
'test'
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from helpers import cloudtrail

__all__ = ["Notification", "NotificationError", "S3Object", "parse_notification", "wanted"]


class NotificationError(ValueError):
    """A message body that is not a notification this input understands."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    #: The object's ETag when the notification names it (S3 events do; CloudTrail's do not).
    etag: str = field(default="", repr=False)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Notification:
    """What one SQS message asks for: the objects to read (possibly none).

    ``kind`` is ``"s3"``, ``"sns/s3"``, ``"cloudtrail"``, ``"sns/cloudtrail"``, ``"test"`` or
    ``"sns/test"``; ``ignored`` counts records that name no new object (e.g. deletions).
    """

    kind: str
    objects: tuple[S3Object, ...] = ()
    ignored: int = 0

    @property
    def test_event(self) -> bool:
        return self.kind.endswith("test")


def parse_notification(body: str) -> Notification:
    """The objects an SQS message body names, or :class:`NotificationError` saying why not.

    >>> parse_notification('{"Records": [{"eventSource": "aws:s3", '
    ...     '"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "trail"}, '
    ...     '"object": {"key": "AWSLogs/x+y.json.gz"}}}]}').objects
    (S3Object(bucket='trail', key='AWSLogs/x y.json.gz'),)
    >>> parse_notification('{"Service": "Amazon S3", "Event": "s3:TestEvent"}').test_event
    True
    """
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise NotificationError(f"message body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise NotificationError("message body is not a JSON object")
    prefix = ""
    if doc.get("Type") == "Notification" and "Message" in doc:
        prefix = "sns/"
        inner = doc["Message"]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError as exc:
                raise NotificationError(f"SNS Message is not JSON: {exc}") from None
        if not isinstance(inner, dict):
            raise NotificationError("SNS Message is not a JSON object")
        doc = inner
    elif doc.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return Notification("sns/control", ignored=1)
    if doc.get("Event") == "s3:TestEvent":
        return Notification(prefix + "test")
    if "Records" in doc:
        return _s3_event(doc["Records"], prefix)
    if "s3Bucket" in doc and "s3ObjectKey" in doc:  # CloudTrail's own SNS notification
        bucket, keys = doc["s3Bucket"], doc["s3ObjectKey"]
        keys = [keys] if isinstance(keys, str) else keys
        if not isinstance(bucket, str) or not isinstance(keys, list):
            raise NotificationError("CloudTrail notification without s3Bucket/s3ObjectKey")
        return Notification(prefix + "cloudtrail", tuple(S3Object(bucket, k) for k in keys))
    raise NotificationError("not an S3 event notification (no Records, Event or s3ObjectKey)")


def _s3_event(records: Any, prefix: str) -> Notification:
    if not isinstance(records, list):
        raise NotificationError('"Records" is not a list')
    objects, ignored = [], 0
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise NotificationError(f"Records[{number}] is not an object")
        name = str(record.get("eventName", ""))
        if record.get("eventSource", "aws:s3") != "aws:s3" or not name.startswith("ObjectCreated"):
            ignored += 1
            continue
        try:
            bucket = record["s3"]["bucket"]["name"]
            key = record["s3"]["object"]["key"]
        except (KeyError, TypeError):
            raise NotificationError(f"Records[{number}] has no s3.bucket.name/object.key") from None
        # S3 URL-encodes keys in notifications, spaces as "+".
        etag = record["s3"]["object"].get("eTag") or ""
        objects.append(S3Object(bucket, urllib.parse.unquote_plus(key), str(etag)))
    return Notification(prefix + "s3", tuple(objects), ignored)


def wanted(key: str) -> bool:
    """Whether a key names a CloudTrail log file (digest files and other objects are skipped)."""
    return key.lower().endswith(cloudtrail.LOG_SUFFIXES) and cloudtrail.DIGEST_MARKER not in key
