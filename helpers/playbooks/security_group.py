"""``revoke-security-group-ingress``: revoke exactly the world-open ingress of one group.

A rule is world-open when one of its ranges has prefix length 0 (``0.0.0.0/0``, ``::/0``, and
any other spelling of them). Only those ranges are revoked: a permission with several ranges
loses just the world-open one, all-protocol rules (``-1``, no ports) and port ranges are handled
as EC2 stores them, and ranges the policy allows (group + port + reason) stay. The group is never
detached from its instances.

>>> from helpers.incident import Incident
>>> incident = Incident("security-group-open-to-world", "sg-0123456789abcdef0", "123456789012")
>>> plan = RevokeWorldIngress().plan(incident, clients)                   # doctest: +SKIP
>>> print(plan.describe())                                                # doctest: +SKIP
- sg-0123456789abcdef0 tcp 3389 from 0.0.0.0/0: ec2.revoke_security_group_ingress(...)
"""

from __future__ import annotations

import ipaddress

from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Change, Plan, Playbook, Verification, playbook

__all__ = ["RevokeWorldIngress", "world_open"]


def world_open(cidr: str) -> bool:
    """True for a range that admits every address of its family.

    >>> [world_open(c) for c in ("0.0.0.0/0", "::/0", "10.0.0.0/0", "10.0.0.0/8")]
    [True, True, True, False]
    """
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def ports_text(permission: dict) -> str:
    protocol = permission.get("IpProtocol", "-1")
    if protocol == "-1":
        return "all traffic"
    low, high = permission.get("FromPort"), permission.get("ToPort")
    ports = "all ports" if low is None else str(low) if low == high else f"{low}-{high}"
    return f"{protocol} {ports}"


def _port(permission: dict) -> int | str | None:
    """The port an allowlist entry must name to cover this permission: the port itself for a
    one-port rule, ``"low-high"`` for a range (so ``port: 443`` never covers 443-8443), None for
    all ports.

    >>> _port({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}), _port({"IpProtocol": "-1"})
    (443, None)
    >>> _port({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 8443})
    '443-8443'
    """
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if permission.get("IpProtocol", "-1") == "-1" or low is None:
        return None
    return low if low == high else f"{low}-{high}"


def _bare(permission: dict) -> dict:
    """A permission with only its protocol and ports (ranges are added per revoked range)."""
    return {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}


def world_ranges(permission: dict):
    """``(kind, range)`` for each world-open range of a permission."""
    for entry in permission.get("IpRanges", []):
        if world_open(entry.get("CidrIp", "")):
            yield "IpRanges", entry
    for entry in permission.get("Ipv6Ranges", []):
        if world_open(entry.get("CidrIpv6", "")):
            yield "Ipv6Ranges", entry


@playbook
class RevokeWorldIngress(Playbook):
    """Revoke the world-open ingress ranges of the alerted security group (never detach it)."""

    name = "revoke-security-group-ingress"
    description = "Revoke exactly the world-open ingress ranges of the alerted security group."
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupIngress",  # the rollback
    )

    def _group(self, incident: Incident, clients: Clients) -> dict | None:
        """The alerted group, by id, or by name when the call named it (``groupName``)."""
        ec2 = clients.aws("ec2", incident.region or None)
        resource = incident.resource
        try:
            if resource.startswith("sg-"):
                groups = ec2.describe_security_groups(GroupIds=[resource])["SecurityGroups"]
            else:
                groups = ec2.describe_security_groups(
                    Filters=[{"Name": "group-name", "Values": [resource]}]
                )["SecurityGroups"]
                if len(groups) > 1:  # the same name in several VPCs: which one is unknowable
                    raise LookupError(
                        f"{len(groups)} security groups are named {resource}; "
                        "a person must pick the one that was opened"
                    )
        except ClientError as err:
            if err.response["Error"]["Code"] in (
                "InvalidGroup.NotFound",
                "InvalidGroupId.Malformed",
            ):
                return None
            raise
        return groups[0] if groups else None

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        plan = Plan(self.name, incident.resource)
        group = self._group(incident, clients)
        if group is None:
            plan.nothing_to_do = f"security group {incident.resource} no longer exists"
            return plan
        policy = clients.policy
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        if policy.protected(tags):
            plan.exempt = (
                f"{incident.resource} is tagged {policy.protected_key}={tags[policy.protected_key]}"
            )
            return plan
        group_id = group["GroupId"]
        lines = []
        for permission in group.get("IpPermissions", []):
            for kind, entry in world_ranges(permission):
                cidr = entry.get("CidrIp") or entry.get("CidrIpv6")
                what = f"{group_id} {ports_text(permission)} from {cidr}"
                allowed = self.allowed(policy, group, permission)
                if allowed is not None:
                    plan.kept.append(f"{what} (allowed: {allowed.reason})")
                    lines.append(f"  {what}   (kept: {allowed.reason})")
                    continue
                rule = {**_bare(permission), kind: [dict(entry)]}
                params = {"GroupId": group_id, "IpPermissions": [rule]}
                plan.changes.append(
                    Change("ec2", "RevokeSecurityGroupIngress", params, f"revoke {what}",
                           already_done=("InvalidPermission.NotFound",))
                )  # fmt: skip
                plan.rollback.append(
                    Change("ec2", "AuthorizeSecurityGroupIngress", params, f"re-open {what}",
                           already_done=("InvalidPermission.Duplicate",))
                )  # fmt: skip
                lines.append(f"- {what}")
        if not plan.changes:
            plan.nothing_to_do = f"{group_id} has no world-open ingress to revoke" + (
                f" ({len(plan.kept)} allowed by policy)" if plan.kept else ""
            )
        plan.diff = "\n".join([f"Security group {group_id} ({group['GroupName']}):", *lines])
        return plan

    def allowed(self, policy, group: dict, permission: dict):
        """The allowlist entry covering a world-open permission of the group, if any."""
        return policy.allowed(
            self.name,
            group["GroupId"],
            port=_port(permission),
            protocol=permission.get("IpProtocol"),
            group_name=group["GroupName"],
        )

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        group = self._group(incident, clients)
        if group is None:
            return Verification(False, f"security group {incident.resource} no longer exists")
        policy = clients.policy
        group_id = group["GroupId"]
        still_open = [
            f"{ports_text(p)} from {e.get('CidrIp') or e.get('CidrIpv6')}"
            for p in group.get("IpPermissions", [])
            for _, e in world_ranges(p)
            if self.allowed(policy, group, p) is None
        ]
        observed = {"ingress": group.get("IpPermissions", [])}
        if still_open:
            return Verification(
                False, "still open to the world: " + "; ".join(still_open), observed
            )
        return Verification(True, f"{group_id} admits no traffic from the whole internet", observed)
