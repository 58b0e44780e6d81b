"""Resource tags -> the owning service and team of the alerted resource.

Security groups, instances, buckets, trails and IAM users (by the kind of id the resource is).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from helpers.enrich import enricher


def _kind(incident) -> str:
    resource, detection = incident.resource, incident.detection
    if resource.startswith("sg-"):
        return "security-group"
    if resource.startswith("i-"):
        return "instance"
    if detection.startswith("s3-") and resource != "account-public-access-block":
        return "bucket"
    if detection.startswith("cloudtrail-"):
        return "trail"
    return "other"


def _tags(incident, clients, kind: str) -> dict[str, str]:
    resource = incident.resource
    if kind in ("security-group", "instance"):
        found = clients.aws("ec2").describe_tags(
            Filters=[{"Name": "resource-id", "Values": [resource]}]
        )["Tags"]
        return {t["Key"]: t["Value"] for t in found}
    if kind == "bucket":
        try:
            found = clients.aws("s3").get_bucket_tagging(Bucket=resource)["TagSet"]
        except ClientError as err:
            if err.response["Error"]["Code"] in ("NoSuchTagSet", "NoSuchBucket"):
                return {}
            raise
        return {t["Key"]: t["Value"] for t in found}
    if kind == "trail":
        trails = clients.aws("cloudtrail").describe_trails()["trailList"]
        arn = next((t["TrailARN"] for t in trails if t["Name"] == resource), None)
        if arn is None:
            return {}
        found = clients.aws("cloudtrail").list_tags(ResourceIdList=[arn])["ResourceTagList"]
        return {t["Key"]: t["Value"] for r in found for t in r.get("TagsList", [])}
    return {}


#: The IAM actions it reads with.
PERMISSIONS = (
    "ec2:DescribeTags",
    "s3:GetBucketTagging",
    "cloudtrail:DescribeTrails",
    "cloudtrail:ListTags",
)


@enricher("resource-tags", timeout=3.0, permissions=PERMISSIONS)
def resource_tags(incident, clients) -> dict:
    """The resource's tags, and the team and service they name."""
    kind = _kind(incident)
    if kind == "other":
        return {"kind": kind, "known": False, "reason": f"no tags to read for {incident.resource}"}
    tags = _tags(incident, clients, kind)
    return {
        "kind": kind,
        "known": bool(tags),
        "team": tags.get("team", ""),
        "service": tags.get("service") or tags.get("Name") or "",
        "environment": tags.get("env") or tags.get("environment") or "",
        "tags": tags,
    }
