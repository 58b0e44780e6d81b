"""The account's network as EC2 describes it: a VPC's instances, their interfaces, and the
security-group rules that decide whether a connection is accepted.

:meth:`Network.from_ec2` reads it through a boto3 EC2 client; :meth:`Network.changed` applies
the security-group changes a CloudTrail record made, so a traffic generator can ask, at any moment,
what the groups admitted then.

>>> net = Network("123456789012", "us-east-1", "vpc-1", (Interface("eni-1", "i-1", "10.0.1.4",
...     ("sg-1",)),), (Rule("sg-1", "tcp", 443, 443, "198.51.100.0/24"),))
>>> eni = net.interfaces[0]
>>> net.admits(eni, "tcp", 443, "198.51.100.7"), net.admits(eni, "tcp", 3389, "192.0.2.1")
(True, False)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Interface", "Network", "Rule"]

#: CloudTrail events that change a group's ingress rules, and what they do to them.
_ADDS, _REMOVES = "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"


@dataclass(frozen=True)
class Interface:
    """An instance's network interface (ENI)."""

    eni_id: str
    instance_id: str
    private_ip: str
    group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One ingress permission: ``protocol`` (``tcp``, ``udp``, ``icmp`` or ``-1`` for all),
    a port range, and the source CIDR."""

    group_id: str
    protocol: str
    from_port: int
    to_port: int
    cidr: str

    def admits(self, protocol: str, port: int, source: str) -> bool:
        return (
            self.protocol in ("-1", protocol)
            and (self.protocol == "-1" or self.from_port <= port <= self.to_port)
            and ipaddress.ip_address(source) in ipaddress.ip_network(self.cidr, strict=False)
        )


@dataclass(frozen=True)
class Network:
    """A VPC's interfaces and the ingress rules of their groups (egress is open, EC2's default)."""

    account_id: str
    region: str
    vpc_id: str
    interfaces: tuple[Interface, ...]
    rules: tuple[Rule, ...]

    @classmethod
    def from_ec2(cls, ec2: Any, account_id: str) -> Network:
        """The VPC of the running instances, read through a boto3 EC2 client.

        >>> Network.from_ec2(session().client("ec2"), "123456789012")   # doctest: +SKIP
        """
        interfaces, vpcs = [], set()
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    for eni in instance.get("NetworkInterfaces", []):
                        vpcs.add(eni["VpcId"])
                        groups = tuple(g["GroupId"] for g in eni.get("Groups", []))
                        interfaces.append(
                            Interface(
                                eni["NetworkInterfaceId"],
                                instance["InstanceId"],
                                eni["PrivateIpAddress"],
                                groups,
                            )
                        )
        if len(vpcs) != 1:
            raise ValueError(f"expected the running instances in one VPC, found {sorted(vpcs)}")
        groups = sorted({g for i in interfaces for g in i.group_ids})
        described = ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]
        rules = tuple(
            Rule(group["GroupId"], _protocol(perm["IpProtocol"]), *_ports(perm), r["CidrIp"])
            for group in described
            for perm in group["IpPermissions"]
            for r in perm.get("IpRanges", [])
        )
        region = ec2.meta.region_name
        interfaces.sort(key=lambda i: i.private_ip)
        return cls(account_id, region, vpcs.pop(), tuple(interfaces), rules)

    def admits(self, interface: Interface, protocol: str, port: int, source: str) -> bool:
        """Whether the interface's groups admit a new inbound connection."""
        return any(
            rule.group_id in interface.group_ids and rule.admits(protocol, port, source)
            for rule in self.rules
        )

    def in_group(self, group_id: str) -> list[Interface]:
        return [i for i in self.interfaces if group_id in i.group_ids]

    def changed(self, record: dict) -> Network:
        """The network after a CloudTrail record's ingress change (unchanged for other events)."""
        if record.get("eventName") not in (_ADDS, _REMOVES) or record.get("errorCode"):
            return self
        rules = cloudtrail_rules(record)
        if record["eventName"] == _ADDS:
            return replace(self, rules=self.rules + tuple(r for r in rules if r not in self.rules))
        return replace(self, rules=tuple(r for r in self.rules if r not in rules))


def cloudtrail_rules(record: dict) -> list[Rule]:
    """The IPv4 rules an ``(Authorize|Revoke)SecurityGroupIngress`` record names."""
    params = record.get("requestParameters") or {}
    group = params.get("groupId", "")
    return [
        Rule(group, _protocol(perm["ipProtocol"]), *_ports(perm), r["cidrIp"])
        for perm in (params.get("ipPermissions") or {}).get("items", [])
        for r in (perm.get("ipRanges") or {}).get("items", [])
    ]


def _protocol(name: str) -> str:
    """EC2 accepts protocol numbers too: 6 is tcp, 17 udp, 1 icmp."""
    return {"6": "tcp", "17": "udp", "1": "icmp"}.get(str(name), str(name).lower())


def _ports(permission: dict) -> tuple[int, int]:
    """(from, to) of an EC2 (``FromPort``) or CloudTrail (``fromPort``) permission."""
    low = permission.get("FromPort", permission.get("fromPort", 0))
    high = permission.get("ToPort", permission.get("toPort", 65535))
    return (0, 65535) if low == -1 else (int(low), int(high))
