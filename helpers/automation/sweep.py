"""The sweep: look for world-open security groups now (the seed's cron Lambda, as a function).

Each group with a world-open ingress range that the policy does not allow becomes an alert row
for ``security-group-open-to-world``, handed to the same path as Splunk's alerts: the incident,
the ticket and the fix are the same whether Splunk saw the change or the sweep found it.

>>> rows = world_open_groups(clients)                                  # doctest: +SKIP
>>> rows[0]["resource"], rows[0]["details"]                            # doctest: +SKIP
('sg-0123456789abcdef0', 'found by a sweep: tcp 3389 from 0.0.0.0/0')
"""

from __future__ import annotations

from helpers.clients import Clients
from helpers.playbooks.security_group import RevokeWorldIngress, ports_text, world_ranges

__all__ = ["DETECTION", "findings_table", "world_open_groups"]

DETECTION = "security-group-open-to-world"
#: The columns a person reads in a sweep's findings.
TABLE = ["resource", "account", "region", "details", "dedup_key"]


def world_open_groups(clients: Clients, group_ids: list[str] | None = None) -> list[dict]:
    """One alert row per security group that admits the whole internet (policy exceptions left
    out), in the detection's own fields; only the groups ``group_ids`` names, when given."""
    policy, book = clients.policy, RevokeWorldIngress()
    account = clients.aws("sts").get_caller_identity()["Account"]
    region = clients.settings.aws_region
    rows = []
    only = {"Filters": [{"Name": "group-id", "Values": list(group_ids)}]} if group_ids else {}
    pages = clients.aws("ec2").get_paginator("describe_security_groups").paginate(**only)
    for group in (g for page in pages for g in page["SecurityGroups"]):
        found = [
            f"{ports_text(p)} from {e.get('CidrIp') or e.get('CidrIpv6')}"
            for p in group.get("IpPermissions", [])
            for _, e in world_ranges(p)
            if book.allowed(policy, group, p) is None
        ]
        if found:
            rows.append({
                "detection": DETECTION, "severity": "high", "playbook": book.name,
                "resource": group["GroupId"], "account": account, "region": region,
                "details": "found by a sweep: " + "; ".join(found),
                "dedup_key": f"{DETECTION}:{group['GroupId']}:{account}",
            })  # fmt: skip
    return rows


def findings_table(rows: list[dict]):
    """The sweep's rows as a DataFrame a person reads (the same columns when it found nothing).

    >>> findings_table([]).columns.tolist()
    ['resource', 'account', 'region', 'details', 'dedup_key']
    """
    import pandas as pd

    return pd.DataFrame(rows, columns=TABLE)
