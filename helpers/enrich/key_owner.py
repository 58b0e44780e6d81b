"""Access key -> its IAM user: tags (owner, team), groups, creation date, and last use.

The key is the incident's resource when it is one (``AKIA...``/``ASIA...``), else the key that
made the call (``userIdentity.accessKeyId`` in the evidence).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from helpers.enrich import enricher

KEY_PREFIXES = ("AKIA", "ASIA")


def access_key_of(incident) -> str | None:
    """The access key an incident is about."""
    if incident.resource.startswith(KEY_PREFIXES):
        return incident.resource
    for row in reversed(incident.evidence):
        key = row.get("userIdentity.accessKeyId")
        if isinstance(key, str) and key.startswith(KEY_PREFIXES):
            return key
    return None


#: The IAM actions it reads with.
PERMISSIONS = (
    "iam:GetAccessKeyLastUsed",
    "iam:ListUserTags",
    "iam:ListGroupsForUser",
    "iam:ListAccessKeys",
)


@enricher("key-owner", timeout=3.0, permissions=PERMISSIONS)
def key_owner(incident, clients) -> dict:
    """Who owns the access key: the IAM user, its tags and groups, and when the key was used."""
    key = access_key_of(incident)
    if key is None:
        return {"known": False, "reason": "the incident names no access key"}
    iam = clients.aws("iam")
    try:
        used = iam.get_access_key_last_used(AccessKeyId=key)
    except ClientError as err:
        if err.response["Error"]["Code"] != "NoSuchEntity":
            raise
        used = {}  # a deleted key: a fact about the incident, not a failure to enrich
    user = used.get("UserName")
    if not user:
        return {"access_key": key, "known": False, "reason": "no IAM user owns this key"}
    last = used.get("AccessKeyLastUsed") or {}
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user).get("Tags", [])}
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]]
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    this = next((k for k in keys if k["AccessKeyId"] == key), {})
    return {
        "access_key": key,
        "known": True,
        "user": user,
        "team": tags.get("team", ""),
        "owner": tags.get("owner", ""),
        "tags": tags,
        "groups": groups,
        "status": this.get("Status", ""),
        "created": str(this.get("CreateDate", "")),
        "last_used": str(last.get("LastUsedDate", "")),
        "last_service": last.get("ServiceName", ""),
        "last_region": last.get("Region", ""),
    }
