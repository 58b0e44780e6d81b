"""Small corrections to moto where it differs from AWS in ways the lab's flows meet, and one
where its server is needlessly slow.

Each correction is a documented AWS behaviour; apply them once, before serving.
"""

from __future__ import annotations

from moto import backends
from moto.cloudtrail.models import CloudTrailBackend


def _delete_trail(self: CloudTrailBackend, name: str) -> None:
    """DeleteTrail accepts a trail name or ARN and fails for an unknown trail
    (CloudTrail API Reference, DeleteTrail: "Name ... the name or the CloudTrail ARN")."""
    trail = self.get_trail(name)
    del self.trails[trail.trail_name]


def apply() -> None:
    CloudTrailBackend.delete_trail = _delete_trail
    # moto's server lists its own package folder (some 180 stat calls) on every request to find
    # the service; the folder does not change while it runs.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
