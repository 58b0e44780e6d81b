"""The generator: the traffic the recorded sg-open-world change implies on the lab's network,
the same every time; acceptance follows the security groups as the change leaves them."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest

from helpers import cloudtrail, netlogs
from helpers.netlogs.generate import C2_ADDRESS, OFFICE_CIDR
from helpers.netlogs.network import Interface, Network, Rule

DATA = Path(__file__).resolve().parents[2] / "data"
WEB = Interface(
    "eni-d8c0f1f195b603cdf", "i-7d39d43b76d05ddec", "10.0.1.4", ("sg-36805c428332e1721",)
)
ADMIN = Interface(
    "eni-73c2256058cc6b16b", "i-2b35509ef766d96ef", "10.0.1.5", ("sg-d60749a108c900357",)
)
#: The lab account's network (labstack/aws/account.yaml), with the ids the local world gives it.
NETWORK = Network(
    "123456789012",
    "us-east-1",
    "vpc-289725beb660ba612",
    (WEB, ADMIN),
    (
        Rule("sg-36805c428332e1721", "tcp", 443, 443, OFFICE_CIDR),
        Rule("sg-d60749a108c900357", "tcp", 22, 22, OFFICE_CIDR),
    ),
)


@pytest.fixture(scope="module")
def opening() -> list[dict]:
    return list(cloudtrail.read_files(DATA / "sample_cloudtrail" / "sg-open-world"))


@pytest.fixture(scope="module")
def traffic(opening) -> netlogs.Traffic:
    return netlogs.generate(NETWORK, opening, seed="sg-open-world")


def _epoch(record: dict) -> int:
    return int(dt.datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")).timestamp())


def test_the_same_inputs_give_the_same_traffic(opening, traffic):
    assert netlogs.generate(NETWORK, opening, seed="sg-open-world") == traffic
    assert netlogs.generate(NETWORK, opening, seed="another day") != traffic


def test_the_outsider_is_rejected_before_the_opening_and_accepted_after(opening, traffic):
    [change] = [r for r in opening if r["eventName"] == "AuthorizeSecurityGroupIngress"]
    attacker, opened = change["sourceIPAddress"], _epoch(change)
    tries = [f for f in traffic.flows if f.srcaddr == attacker and f.dstport == 3389]
    before = {f.action for f in tries if f.start < opened}
    after = {f.action for f in tries if f.start >= opened}
    assert (before, after) == ({"REJECT"}, {"ACCEPT"})
    assert {f.interface_id for f in tries} == {WEB.eni_id}  # only the opened group's instance
    replies = [f for f in traffic.flows if f.dstaddr == attacker and f.srcport == 3389]
    assert replies and all(f.action == "ACCEPT" and f.start >= opened for f in replies)


def test_the_other_group_still_rejects_the_port(traffic):
    to_admin = [f for f in traffic.flows if f.dstaddr == ADMIN.private_ip and f.dstport == 3389]
    assert to_admin and {f.action for f in to_admin} == {"REJECT"}


def test_the_office_reaches_the_ports_its_groups_open_to_it(traffic):
    office = ipaddress.ip_network(OFFICE_CIDR)
    inbound = [f for f in traffic.flows if ipaddress.ip_address(f.srcaddr) in office]
    assert {(f.dstaddr, f.dstport) for f in inbound} == {
        (WEB.private_ip, 443),
        (ADMIN.private_ip, 22),
    }
    assert {f.action for f in inbound} == {"ACCEPT"}


def test_the_instance_resolves_the_suspicious_name_after_the_opening_then_calls_it(
    opening, traffic
):
    [change] = [r for r in opening if r["eventName"] == "AuthorizeSecurityGroupIngress"]
    [lookup] = [q for q in traffic.queries if q["query_name"] == netlogs.SUSPICIOUS_DOMAIN]
    assert (lookup["srcids"]["instance"], lookup["srcaddr"]) == (WEB.instance_id, WEB.private_ip)
    assert lookup["query_timestamp"] > change["eventTime"]
    assert [a["Rdata"] for a in lookup["answers"]] == [C2_ADDRESS]
    calls = [f for f in traffic.flows if f.dstaddr == C2_ADDRESS]
    assert calls and {f.interface_id for f in calls} == {WEB.eni_id}
    resolved = dt.datetime.fromisoformat(lookup["query_timestamp"].replace("Z", "+00:00"))
    assert min(f.start for f in calls) > resolved.timestamp()


def test_a_day_without_the_change_has_no_intrusion():
    records = list(cloudtrail.read_files(DATA / "sample_cloudtrail" / "baseline"))
    quiet = netlogs.generate(NETWORK, records, seed="baseline")
    assert quiet.flows and quiet.queries
    assert not [f for f in quiet.flows if f.dstport == 3389 and f.action == "ACCEPT"]
    assert netlogs.SUSPICIOUS_DOMAIN not in {q["query_name"] for q in quiet.queries}


def test_no_records_is_refused():
    with pytest.raises(ValueError, match="no CloudTrail records"):
        netlogs.generate(NETWORK, [], seed="x")


def test_written_logs_read_back_from_the_s3_layout(tmp_path, traffic):
    written = netlogs.write_logs(tmp_path, traffic, NETWORK, "fl-0123456789abcdef0")
    keys = {p.relative_to(tmp_path).as_posix().split("/")[2] for p in written}
    assert keys == {"vpcflowlogs", "vpcdnsquerylogs"}
    assert netlogs.read_logs(tmp_path) == traffic
    assert netlogs.write_logs(tmp_path / "again", traffic, NETWORK, "fl-0123456789abcdef0") == [
        tmp_path / "again" / p.relative_to(tmp_path) for p in written
    ]
