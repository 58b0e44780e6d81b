"""Small corrections to moto where it differs from AWS in ways the lab's flows meet.

Each one is a documented AWS behaviour; apply them once, before serving.
"""

from __future__ import annotations

from moto.cloudtrail.models import CloudTrailBackend


def _delete_trail(self: CloudTrailBackend, name: str) -> None:
    """DeleteTrail accepts a trail name or ARN and fails for an unknown trail
    (CloudTrail API Reference, DeleteTrail: "Name ... the name or the CloudTrail ARN")."""
    trail = self.get_trail(name)
    del self.trails[trail.trail_name]


def apply() -> None:
    CloudTrailBackend.delete_trail = _delete_trail
