"""Find cloud risks with boto3 and pandas: open security groups, public buckets, stale keys.

Works on any account the session reaches (the local world or a real one).

>>> from helpers.aws import session
>>> from helpers.inventory import open_security_groups, bucket_exposure
>>> open_security_groups(session())                                   # doctest: +SKIP
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from botocore.exceptions import ClientError

from helpers.aws import LabSession
from helpers.playbooks.s3_public import public_statement

WORLD_CIDRS = ("0.0.0.0/0", "::/0")
PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
#: Ports whose exposure to the world is an incident, not a design (SSH, RDP, databases...).
ADMIN_PORTS = {22, 3389, 3306, 5432, 1433, 6379, 9200, 27017}
#: An active access key older than this many days is due for rotation (CIS AWS 1.14: 90).
MAX_KEY_AGE_DAYS = 90
#: An active access key unused for this many days (or never used since) should go (CIS 1.12: 45).
MAX_KEY_IDLE_DAYS = 45
ACCESS_KEY_COLUMNS = ["user", "access_key_id", "status", "created", "age_days", "last_used",
                      "last_service", "idle_days"]  # fmt: skip


def security_group_rules(lab: LabSession) -> pd.DataFrame:
    """One row per ingress source of every security group, with the instances it guards."""
    ec2 = lab.client("ec2")
    attached: dict[str, list[str]] = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                for group in instance.get("SecurityGroups", []):
                    attached.setdefault(group["GroupId"], []).append(instance["InstanceId"])
    rows = []
    for page in ec2.get_paginator("describe_security_groups").paginate():
        for group in page["SecurityGroups"]:
            for perm in group.get("IpPermissions", []):
                sources = [r["CidrIp"] for r in perm.get("IpRanges", [])]
                sources += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
                sources += [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
                for source in sources:
                    rows.append(
                        {
                            "group_id": group["GroupId"],
                            "group_name": group["GroupName"],
                            "protocol": perm.get("IpProtocol"),
                            "from_port": perm.get("FromPort"),
                            "to_port": perm.get("ToPort"),
                            "source": source,
                            "world": source in WORLD_CIDRS,
                            "instances": attached.get(group["GroupId"], []),
                        }
                    )
    return pd.DataFrame(
        rows,
        columns=["group_id", "group_name", "protocol", "from_port", "to_port", "source", "world",
                 "instances"],
    )  # fmt: skip


def open_security_groups(lab: LabSession) -> pd.DataFrame:
    """Rules open to the whole internet, flagged when they expose an admin port."""
    rules = security_group_rules(lab)
    world = rules[rules["world"]].copy()
    world["admin_port"] = [
        _covers_admin_port(row.protocol, row.from_port, row.to_port) for row in world.itertuples()
    ]
    return world.reset_index(drop=True)


def _covers_admin_port(protocol, from_port, to_port) -> bool:
    if protocol == "-1":
        return True
    if from_port is None or to_port is None:
        return False
    return any(from_port <= port <= to_port for port in ADMIN_PORTS)


def bucket_exposure(lab: LabSession) -> pd.DataFrame:
    """Per bucket: is the public access block complete, do the ACL or the policy make it public?"""
    s3 = lab.client("s3")
    rows = []
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        rows.append(
            {
                "bucket": name,
                "block_public_access": _blocks_all(s3, name),
                "public_acl": _public_acl(s3, name),
                "public_policy": _public_policy(s3, name),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["bucket", "block_public_access", "public_acl", "public_policy"]
    )
    frame["public"] = (frame["public_acl"] | frame["public_policy"]) & ~frame["block_public_access"]
    return frame


def _blocks_all(s3, bucket: str) -> bool:
    try:
        config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError:
        return False
    return all(config.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls",
                                         "BlockPublicPolicy", "RestrictPublicBuckets"))  # fmt: skip


def _public_acl(s3, bucket: str) -> bool:
    grants = s3.get_bucket_acl(Bucket=bucket).get("Grants", [])
    return any(g.get("Grantee", {}).get("URI") in PUBLIC_GRANTEES for g in grants)


def _public_policy(s3, bucket: str) -> bool:
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError:
        return False
    return any(public_statement(s) for s in _as_list(policy.get("Statement")))


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def access_keys(lab: LabSession, now: datetime | None = None) -> pd.DataFrame:
    """Every IAM user's access keys: age, when each was last used (GetAccessKeyLastUsed), and
    for how many days it has been idle (since creation, when it was never used)."""
    iam = lab.client("iam")
    now = now or datetime.now(UTC)
    rows = []
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            pages = iam.get_paginator("list_access_keys").paginate(UserName=user["UserName"])
            for key in (k for p in pages for k in p["AccessKeyMetadata"]):
                used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
                last = (used.get("AccessKeyLastUsed") or {}).get("LastUsedDate")
                rows.append({
                    "user": user["UserName"], "access_key_id": key["AccessKeyId"],
                    "status": key["Status"], "created": key["CreateDate"],
                    "age_days": (now - key["CreateDate"]).days, "last_used": last,
                    "last_service": (used.get("AccessKeyLastUsed") or {}).get("ServiceName"),
                    "idle_days": (now - (last or key["CreateDate"])).days,
                })  # fmt: skip
    return pd.DataFrame(rows, columns=ACCESS_KEY_COLUMNS)


def stale_access_keys(keys: pd.DataFrame, max_age_days: int = MAX_KEY_AGE_DAYS,
                      max_idle_days: int = MAX_KEY_IDLE_DAYS) -> pd.DataFrame:  # fmt: skip
    """The active keys of :func:`access_keys` that are too old or unused too long, with why.

    >>> keys = pd.DataFrame([{"user": "dev", "access_key_id": "AKIA1", "status": "Active",
    ...                       "age_days": 120, "idle_days": 3, "last_used": None}])
    >>> stale_access_keys(keys)[["user", "reason"]].to_dict("records")
    [{'user': 'dev', 'reason': 'created 120 days ago (rotate after 90)'}]
    """
    reasons = []
    for row in keys.itertuples():
        why = []
        if row.age_days > max_age_days:
            why.append(f"created {row.age_days} days ago (rotate after {max_age_days})")
        if row.idle_days > max_idle_days and pd.notna(row.last_used):
            why.append(f"last used {row.idle_days} days ago (idle for {max_idle_days} at most)")
        elif row.idle_days > max_idle_days:
            why.append(f"never used in {row.idle_days} days (idle for {max_idle_days} at most)")
        reasons.append("; ".join(why) if row.status == "Active" else "")
    flagged = keys.assign(reason=reasons)
    return flagged[flagged["reason"] != ""].reset_index(drop=True)
