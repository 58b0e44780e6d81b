"""Exercise 01: close a world-open security group, properly.

:func:`setup` gives the practice group ``lab-exercise-sg`` (in the lab's VPC, attached to no
instance) the ingress an attacker and a busy team leave behind: RDP from ``0.0.0.0/0``, SSH from
``::/0``, all traffic from the world, a public HTTPS front end the policy allows (with a reason),
a port range open to the world and to the office in one rule, and a private database rule. The
group is tagged ``auto-remediate=off``, the lab's hands-off tag, so the automation server leaves
it to the student. :func:`check_closed` reads the group back.

>>> practice = setup()                                              # doctest: +SKIP
>>> report = close_world_ingress(ec2, practice.group_id, practice.policy)  # doctest: +SKIP
>>> check_closed(practice, report).passed                          # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers import simulate
from helpers.aws import session
from helpers.checks import Hint, check
from helpers.config import Settings
from helpers.playbooks.guardrails import Policy
from helpers.playbooks.security_group import ports_text, world_ranges

__all__ = ["PLAYBOOK", "PRACTICE_GROUP", "Practice", "check_closed", "cleanup", "setup"]

PRACTICE_GROUP = "lab-exercise-sg"
#: The playbook name allowlist entries are filed under (the same as the toolkit's).
PLAYBOOK = "revoke-security-group-ingress"
HTTPS_REASON = "the practice web front end serves HTTPS to everyone"
OFFICE = "198.51.100.0/24"
PRIVATE = "10.0.0.0/16"
HANDS_OFF = {"auto-remediate": "off", "team": "platform", "purpose": "lab exercise 01"}
#: What the attacker and the team left on the group.
RULES = [
    {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "temp debug"}]},
    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
     "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "public HTTPS"}],
     "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "public HTTPS"}]},
    {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8090,
     "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": OFFICE, "Description": "office"}]},
    {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
     "IpRanges": [{"CidrIp": PRIVATE, "Description": "app servers"}]},
]  # fmt: skip
#: What must still be there afterwards: (protocol, from port, source) -> the hint if it is gone.
KEPT = {
    ("tcp", 443, "0.0.0.0/0"): "tcp 443 from 0.0.0.0/0 was revoked, but the policy allows it "
    f"({HTTPS_REASON}): ask policy.allowed(...) before you revoke a range",
    ("tcp", 443, "::/0"): "tcp 443 from ::/0 was revoked, but the policy allows it: the allowlist "
    "covers the port, whichever address family",
    ("tcp", 8080, OFFICE): f"{OFFICE} on tcp 8080-8090 was revoked too: revoke only the "
    "world-open range of a rule, not the whole rule",
    ("tcp", 5432, PRIVATE): f"{PRIVATE} on tcp 5432 was revoked, but a private range is not open "
    "to the world",
}
#: Why a world-open range may still be there, by protocol and port.
STILL_OPEN = {
    ("tcp", 22): "the IPv6 internet counts too: look at Ipv6Ranges and CidrIpv6, not only IpRanges",
    ("-1", None): "a permission with IpProtocol '-1' has no FromPort or ToPort",
}


@dataclass(frozen=True)
class Practice:
    """The practice group and the guardrails policy that allows its HTTPS front end."""

    group_id: str
    policy: Policy


def _ec2(settings: Settings | None):
    return session(settings).client("ec2")


def _group(ec2) -> dict | None:
    found = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [PRACTICE_GROUP]}]
    )["SecurityGroups"]
    return found[0] if found else None


def _revoke_all(ec2, group: dict) -> None:
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(
            GroupId=group["GroupId"], IpPermissions=group["IpPermissions"]
        )


def setup(settings: Settings | None = None) -> Practice:
    """Create (or reset) the practice group with the rules to clean up; return it and its policy."""
    ec2 = _ec2(settings)
    group = _group(ec2)
    if group is None:
        _, lab_group = simulate.instance_group(session(settings))  # the lab's own VPC
        [peer] = ec2.describe_security_groups(GroupIds=[lab_group])["SecurityGroups"]
        group_id = ec2.create_security_group(
            GroupName=PRACTICE_GROUP,
            Description="lab exercise 01: close the world-open ingress",
            VpcId=peer["VpcId"],
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": k, "Value": v} for k, v in HANDS_OFF.items()],
                }
            ],
        )["GroupId"]
    else:
        group_id = group["GroupId"]
        _revoke_all(ec2, group)
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=RULES)
    policy = Policy.from_dict(
        {
            "allowlist": [
                {"playbook": PLAYBOOK, "resource": group_id, "port": 443, "reason": HTTPS_REASON}
            ]
        },
        source="exercise 01",
    )
    return Practice(group_id, policy)


def _sources(permission: dict) -> list[str]:
    return [r["CidrIp"] for r in permission.get("IpRanges", [])] + [
        r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])
    ]


@check
def check_closed(practice: Practice, report) -> str:
    """Nothing world-open is left but what the policy allows; nothing else was revoked; the
    report says what was kept and why."""
    group = _group(_ec2(None))
    if group is None or group["GroupId"] != practice.group_id:
        raise Hint(f"{PRACTICE_GROUP} is gone: run the setup cell again (keep the group itself)")
    permissions = group["IpPermissions"]
    problems = []
    for permission in permissions:
        for _, entry in world_ranges(permission):
            if practice.policy.allowed(
                PLAYBOOK, practice.group_id, port=permission.get("FromPort")
            ):
                continue
            cidr = entry.get("CidrIp") or entry.get("CidrIpv6")
            why = STILL_OPEN.get((permission["IpProtocol"], permission.get("FromPort")))
            problems.append(
                f"{ports_text(permission)} is still open to {cidr}" + (f" ({why})" if why else "")
            )
    present = {
        (p["IpProtocol"], p.get("FromPort"), source) for p in permissions for source in _sources(p)
    }
    problems += [hint for rule, hint in KEPT.items() if rule not in present]
    if problems:
        raise Hint(*problems)
    if not isinstance(report, dict) or not {"revoked", "kept"} <= set(report):
        raise Hint(
            "the group is right; now return a report: a dict with 'revoked' and 'kept' "
            "(a line for each range), so the ticket can say what changed"
        )
    if not any(HTTPS_REASON in str(line) for line in report["kept"]):
        raise Hint(
            "the report does not say why tcp 443 stays: put the allowlist entry's reason in "
            "report['kept']"
        )
    return (
        f"{practice.group_id} admits nothing from the whole internet but HTTPS (allowed: "
        f"{HTTPS_REASON}); the office and private ranges stay"
    )


def cleanup(settings: Settings | None = None) -> None:
    """Revoke what is left on the practice group; the group stays for the next :func:`setup`
    (so a rerun is the same incident to the automation, not a new one)."""
    ec2 = _ec2(settings)
    group = _group(ec2)
    if group is not None:
        _revoke_all(ec2, group)
