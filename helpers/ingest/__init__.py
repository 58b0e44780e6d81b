"""The SQS-based S3 input: CloudTrail files named by S3 notifications, sent to Splunk's HEC.

This is the job the Splunk Add-on for AWS does. The loop long-polls the queue (10 messages a
call), reads each notification (a plain S3 event, an S3 event inside an SNS envelope, a CloudTrail
``s3ObjectKey`` notification, or ``s3:TestEvent``), fetches the named objects in a small thread
pool, decompresses them, splits ``Records`` and posts the records to HEC in large batches of
concatenated JSON events (``sourcetype=aws:cloudtrail``, ``time`` from ``eventTime``, ``source``
the ``s3://bucket/key`` URI, ``index`` from settings). A message is deleted only after HEC
accepted every batch that holds its events, so delivery is at least once:

- A file that cannot be fetched or parsed (or a body that is no notification) is logged with its
  key and its message is left in the queue. After the queue's ``maxReceiveCount`` SQS moves it to
  the dead-letter queue, where a person can look at it; other messages flow on. A message is one
  unit: its other files wait in the dead-letter queue with it rather than being sent again and
  again.
- When HEC fails (connection refused, 5xx, busy, or a token or index it refuses), the loop stops
  receiving. The batch HEC failed on stays in hand, its messages kept in flight
  (``ChangeMessageVisibility``), and is retried with backoff; messages of later batches go back
  to the queue. So an outage costs a message at most one receive and sends none to the
  dead-letter queue; once HEC takes the held batch, delivery resumes. (``--once`` gives up
  instead and hands everything back.)
- A message whose events were split over two batches and whose second batch failed is sent again
  whole: its first part is then indexed twice. Large batches make that rare. A heartbeat
  extends the visibility of messages still being worked on, so a slow HEC or a large file does
  not let SQS hand the same message out again meanwhile. A second
  notification for an object this process already delivered (same key and ETag) is acknowledged
  without sending it again.

Run it as ``python -m helpers.ingest`` (``--once`` drains the queue and exits), or as the ``ingest``
service of ``lab up``, which also answers ``GET /_lab/health`` with its counters.

The package: :mod:`~helpers.ingest.notifications` (what a message names),
:mod:`~helpers.ingest.events` (log files -> HEC events), :mod:`~helpers.ingest.ingester` (the
loop) and ``__main__`` (the service). HEC itself is :mod:`helpers.hec`.

>>> from helpers.ingest import Ingester
>>> ingester = Ingester.from_settings()                              # doctest: +SKIP
>>> ingester.run(once=True)                                          # doctest: +SKIP
True
>>> ingester.stats.snapshot()["events"]                              # doctest: +SKIP
1234
"""

from helpers.hec import HecClient, HecError
from helpers.ingest.events import SOURCETYPE, hec_lines
from helpers.ingest.ingester import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, Ingester, Stats
from helpers.ingest.notifications import (
    Notification,
    NotificationError,
    S3Object,
    parse_notification,
    wanted,
)

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "SOURCETYPE",
    "HecClient",
    "HecError",
    "Ingester",
    "Notification",
    "NotificationError",
    "S3Object",
    "Stats",
    "hec_lines",
    "parse_notification",
    "wanted",
]
