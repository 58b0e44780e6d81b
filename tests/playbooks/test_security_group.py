"""``revoke-security-group-ingress`` against the emulated EC2, one test per rule shape: exactly
the world-open ranges go, everything else (narrow ranges, policy-allowed rules, the group's
attachment to instances) stays, ``verify`` reads the state back, and the rollback re-opens
exactly what was revoked."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import playbooks
from helpers.incident import Incident
from helpers.playbooks import Plan
from tests.playbooks.conftest import ACCOUNT, policy_with, unique

pytestmark = pytest.mark.stack

PLAYBOOK = playbooks.get("revoke-security-group-ingress")


def _incident(group: str) -> Incident:
    return Incident("security-group-open-to-world", group, ACCOUNT, region="us-east-1")


def _rules(clients, group: str) -> set[tuple]:
    """The group's ingress as a set of (protocol, from, to, cidr) -- one row per range."""
    found = clients.aws("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    rows = set()
    for p in found["IpPermissions"]:
        key = (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
        rows |= {(*key, r["CidrIp"]) for r in p.get("IpRanges", [])}
        rows |= {(*key, r["CidrIpv6"]) for r in p.get("Ipv6Ranges", [])}
    return rows


def _open(clients, group: str, *permissions: dict) -> None:
    clients.aws("ec2").authorize_security_group_ingress(
        GroupId=group, IpPermissions=list(permissions)
    )


def _fix(clients, group: str) -> Plan:
    """Plan, apply and verify; returns the plan."""
    incident = _incident(group)
    plan = PLAYBOOK.plan(incident, clients)
    assert plan.changes, plan.describe()
    PLAYBOOK.apply(plan, clients)
    verification = PLAYBOOK.verify(incident, clients)
    assert verification.ok, verification.details
    return plan


def _tcp(port: int | tuple[int, int], *cidrs: str, v6: bool = False) -> dict:
    low, high = port if isinstance(port, tuple) else (port, port)
    kind, field = ("Ipv6Ranges", "CidrIpv6") if v6 else ("IpRanges", "CidrIp")
    return {
        "IpProtocol": "tcp",
        "FromPort": low,
        "ToPort": high,
        kind: [{field: c} for c in cidrs],
    }


@pytest.mark.parametrize(
    ("permission", "revoked"),
    [
        (_tcp(3389, "0.0.0.0/0"), ("tcp", 3389, 3389, "0.0.0.0/0")),
        (_tcp(22, "::/0", v6=True), ("tcp", 22, 22, "::/0")),
        ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
         ("-1", None, None, "0.0.0.0/0")),
        (_tcp((1000, 2000), "0.0.0.0/0"), ("tcp", 1000, 2000, "0.0.0.0/0")),
        (
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
             "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "dns"}]},
            ("udp", 53, 53, "::/0"),
        ),
    ],
    ids=["ipv4-one-port", "ipv6", "all-protocols", "port-range", "udp-ipv6-with-description"],
)  # fmt: skip
def test_each_world_open_shape_is_revoked_and_verified(
    clients, security_group, permission, revoked
):
    group = security_group()
    _open(clients, group, permission, _tcp(5432, "10.0.0.0/16"))
    before = _rules(clients, group)
    assert revoked in before

    verification = PLAYBOOK.verify(_incident(group), clients)
    assert not verification.ok and "still open to the world" in verification.details

    plan = _fix(clients, group)
    assert [c.operation for c in plan.changes] == ["RevokeSecurityGroupIngress"]
    assert _rules(clients, group) == before - {revoked}


def test_a_permission_with_several_ranges_loses_only_the_world_open_one(clients, security_group):
    group = security_group()
    _open(clients, group, _tcp(8080, "10.0.0.0/8", "0.0.0.0/0", "198.51.100.0/24"))
    plan = _fix(clients, group)
    assert len(plan.changes) == 1
    assert _rules(clients, group) == {
        ("tcp", 8080, 8080, "10.0.0.0/8"),
        ("tcp", 8080, 8080, "198.51.100.0/24"),
    }


def test_ipv4_and_ipv6_world_ranges_of_one_permission_both_go(clients, security_group):
    group = security_group()
    both = {**_tcp(22, "0.0.0.0/0", "10.1.0.0/16"), "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    _open(clients, group, both)
    plan = _fix(clients, group)
    assert len(plan.changes) == 2
    assert _rules(clients, group) == {("tcp", 22, 22, "10.1.0.0/16")}


def test_the_world_written_another_way_is_world_open(clients, security_group):
    group = security_group()
    _open(clients, group, _tcp(4000, "10.0.0.0/0"))
    cidrs = {r[3] for r in _rules(clients, group)}
    assert len(cidrs) == 1  # EC2 keeps 10.0.0.0/0 or canonicalizes it to 0.0.0.0/0
    _fix(clients, group)
    assert _rules(clients, group) == set()


def test_a_group_with_only_narrow_ranges_has_nothing_to_do(clients, security_group):
    group = security_group()
    _open(clients, group, _tcp(22, "198.51.100.0/24"), _tcp(443, "10.0.0.0/8"))
    plan = PLAYBOOK.plan(_incident(group), clients)
    assert plan.changes == [] and "no world-open ingress" in plan.nothing_to_do
    assert PLAYBOOK.verify(_incident(group), clients).ok


def test_a_policy_allowed_rule_stays_and_is_listed_as_kept(clients, security_group):
    """policy.yml allows 443 from anywhere on a group named web-sg. The lab's own web-sg is in
    the lab VPC and group names are unique per VPC, so this test's web-sg gets a VPC of its own."""
    ec2 = clients.aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    try:
        group = ec2.create_security_group(GroupName="web-sg", Description="t", VpcId=vpc)["GroupId"]
        _open(clients, group, _tcp(443, "0.0.0.0/0"), _tcp(80, "0.0.0.0/0"))
        plan = _fix(clients, group)
        assert len(plan.kept) == 1 and "443" in plan.kept[0] and "HTTPS" in plan.kept[0]
        assert "kept" in plan.describe()
        assert _rules(clients, group) == {("tcp", 443, 443, "0.0.0.0/0")}
        # and once only the allowed rule is left, there is nothing to do
        again = PLAYBOOK.plan(_incident(group), clients)
        assert again.nothing_to_do and "1 allowed by policy" in again.nothing_to_do
    finally:
        ec2.delete_security_group(GroupId=group)
        ec2.delete_vpc(VpcId=vpc)


def test_an_allowed_port_does_not_cover_a_port_range_starting_at_it(clients, security_group):
    """The allowlist names port 443 on web-sg; 443-8443 from anywhere is not that rule."""
    ec2 = clients.aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    try:
        group = ec2.create_security_group(GroupName="web-sg", Description="t", VpcId=vpc)["GroupId"]
        _open(clients, group, _tcp((443, 8443), "0.0.0.0/0"))
        plan = _fix(clients, group)
        assert plan.kept == []
        assert _rules(clients, group) == set()
    finally:
        ec2.delete_security_group(GroupId=group)
        ec2.delete_vpc(VpcId=vpc)


def test_an_allowlist_entry_for_another_group_name_does_not_cover(clients, security_group):
    group = security_group(name=unique("not-web-sg"))
    _open(clients, group, _tcp(443, "0.0.0.0/0"))
    plan = _fix(clients, group)
    assert plan.kept == []


def test_an_expired_allowlist_entry_no_longer_keeps_the_rule(clients_as, security_group, clients):
    group = security_group()
    name = clients.aws("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0][
        "GroupName"
    ]
    entry = {"playbook": PLAYBOOK.name, "group_name": name, "port": 443, "reason": "demo"}
    student = clients.settings
    live = policy_with(allowlist=[{**entry, "expires": "2999-12-31"}])
    expired = policy_with(allowlist=[{**entry, "expires": "2000-01-01"}])
    _open(clients, group, _tcp(443, "0.0.0.0/0"))
    from helpers.clients import Clients

    kept = PLAYBOOK.plan(_incident(group), Clients(student, policy=live))
    assert kept.changes == [] and len(kept.kept) == 1
    gone = PLAYBOOK.plan(_incident(group), Clients(student, policy=expired))
    assert len(gone.changes) == 1 and gone.kept == []


def test_the_group_stays_attached_to_its_instances(clients, security_group):
    ec2 = clients.aws("ec2")
    group = security_group()
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group]
    )["Instances"][0]["InstanceId"]
    try:
        _open(clients, group, _tcp(3389, "0.0.0.0/0"))
        plan = _fix(clients, group)
        assert {c.operation for c in plan.changes} == {"RevokeSecurityGroupIngress"}
        found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
        assert [g["GroupId"] for g in found["SecurityGroups"]] == [group]
    finally:
        ec2.terminate_instances(InstanceIds=[instance])


def test_rollback_reopens_exactly_what_was_revoked(clients, security_group):
    group = security_group()
    _open(
        clients,
        group,
        _tcp(22, "0.0.0.0/0", "10.0.0.0/8"),
        _tcp(1000, "::/0", v6=True),
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        _tcp(5432, "10.0.0.0/16"),
    )
    before = _rules(clients, group)
    plan = _fix(clients, group)
    assert _rules(clients, group) == {
        ("tcp", 22, 22, "10.0.0.0/8"),
        ("tcp", 5432, 5432, "10.0.0.0/16"),
    }
    assert [c.operation for c in plan.rollback] == ["AuthorizeSecurityGroupIngress"] * 3

    PLAYBOOK.apply(Plan(PLAYBOOK.name, group, changes=plan.rollback), clients)
    assert _rules(clients, group) == before
    assert not PLAYBOOK.verify(_incident(group), clients).ok


def test_a_rule_someone_else_revoked_first_is_already_done_not_a_failure(clients, security_group):
    """A person, the sweep job or a racing incident closed it between the plan and the apply."""
    group = security_group()
    _open(clients, group, _tcp(3389, "0.0.0.0/0"), _tcp(22, "0.0.0.0/0"))
    plan = PLAYBOOK.plan(_incident(group), clients)
    first = plan.changes[0].params
    clients.aws("ec2").revoke_security_group_ingress(**first)
    result = PLAYBOOK.apply(plan, clients)
    assert [c.get("already_done") for c in result["calls"]] == ["InvalidPermission.NotFound", None]
    assert PLAYBOOK.verify(_incident(group), clients).ok
    # and the rollback of a rule someone re-opened already
    clients.aws("ec2").authorize_security_group_ingress(**first)
    undone = PLAYBOOK.apply(Plan(PLAYBOOK.name, group, changes=plan.rollback), clients)
    assert undone["calls"][0]["already_done"] == "InvalidPermission.Duplicate"
    assert len(_rules(clients, group)) == 2


def test_other_refusals_while_applying_still_fail(clients, security_group):
    group = security_group()
    _open(clients, group, _tcp(3389, "0.0.0.0/0"))
    plan = PLAYBOOK.plan(_incident(group), clients)
    clients.aws("ec2").delete_security_group(GroupId=group)
    with pytest.raises(ClientError, match=r"InvalidGroup\.NotFound"):
        PLAYBOOK.apply(plan, clients)


def test_planning_changes_nothing(clients, security_group):
    group = security_group()
    _open(clients, group, _tcp(3389, "0.0.0.0/0"))
    before = _rules(clients, group)
    plan = PLAYBOOK.plan(_incident(group), clients)
    assert plan.changes and _rules(clients, group) == before
    assert "3389" in plan.diff and "0.0.0.0/0" in plan.diff
    assert Plan.from_dict(plan.as_dict()) == plan  # what the incident store keeps


def test_a_group_tagged_auto_remediate_off_is_exempt_and_unchanged(clients, security_group):
    group = security_group(tags={"auto-remediate": "Off"})
    _open(clients, group, _tcp(3389, "0.0.0.0/0"))
    plan = PLAYBOOK.plan(_incident(group), clients)
    assert plan.changes == [] and "auto-remediate=Off" in plan.exempt
    assert ("tcp", 3389, 3389, "0.0.0.0/0") in _rules(clients, group)


def test_a_deleted_group_has_nothing_to_do(clients, security_group):
    group = security_group()
    clients.aws("ec2").delete_security_group(GroupId=group)
    plan = PLAYBOOK.plan(_incident(group), clients)
    assert plan.changes == [] and plan.nothing_to_do == f"security group {group} no longer exists"
    assert "Nothing to do" in plan.describe()
    assert not PLAYBOOK.verify(_incident(group), clients).ok


def test_a_group_named_instead_of_identified_is_found_by_name(clients, security_group):
    """The detection falls back to requestParameters.groupName (a call that named the group)."""
    name = unique("t-named")
    group = security_group(name=name)
    _open(clients, group, _tcp(3389, "0.0.0.0/0"))
    incident = _incident(name)
    plan = PLAYBOOK.plan(incident, clients)
    assert len(plan.changes) == 1 and plan.changes[0].params["GroupId"] == group
    PLAYBOOK.apply(plan, clients)
    assert PLAYBOOK.verify(incident, clients).ok
    assert _rules(clients, group) == set()
