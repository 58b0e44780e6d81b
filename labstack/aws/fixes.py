"""Small corrections to moto where it differs from AWS in ways the lab's flows meet, and two
where it is needlessly slow.

Each correction is a documented AWS behaviour; apply them once, before serving.
"""

from __future__ import annotations

from moto import backends
from moto.cloudtrail.models import CloudTrailBackend
from moto.core.utils import unix_time
from moto.sqs.models import Message, SQSBackend


def _delete_trail(self: CloudTrailBackend, name: str) -> None:
    """DeleteTrail accepts a trail name or ARN and fails for an unknown trail
    (CloudTrail API Reference, DeleteTrail: "Name ... the name or the CloudTrail ARN")."""
    trail = self.get_trail(name)
    del self.trails[trail.trail_name]


def _within_retention(self: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's check, reading the one attribute it needs: moto reads it through
    ``GetQueueAttributes``, which counts every message of the queue (three times) for each
    message received, so draining a backlog of n messages took n-squared work."""
    period = self.get_queue(queue_name).message_retention_period
    return period + message.sent_timestamp / 1000 > unix_time()


def apply() -> None:
    CloudTrailBackend.delete_trail = _delete_trail
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention
    # moto's server lists its own package folder (some 180 stat calls) on every request to find
    # the service; the folder does not change while it runs.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
