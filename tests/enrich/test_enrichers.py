"""Enrichers against the session's world (IAM, EC2 and Splunk through real clients), and
``enrich()``'s promise: an enricher that fails or is too slow is recorded unknown, with the
reason, and never fails the incident."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from helpers import enrich
from helpers.clients import Clients
from helpers.config import get_settings
from helpers.enrich import enricher, summary
from helpers.incident import Incident
from helpers.runtime.registry import Registry

ACCOUNT = "123456789012"
ALL = {"account-owner", "geoip", "key-owner", "resource-tags", "actor-history"}


@pytest.fixture
def clients(lab_world) -> Clients:
    return Clients(get_settings())


def _facts(incident, clients, name):
    result = enrich.enrich(incident, clients, names=[name])[name]
    assert result["ok"], result["reason"]
    return result["facts"]


def test_every_enricher_is_registered_with_a_timeout():
    registry = enrich.load()
    assert set(registry.names()) >= ALL
    for unit in registry:
        assert unit.timeout > 0 and unit.description


def test_account_owner_comes_from_the_account_table():
    facts = _facts(Incident("x", "r", ACCOUNT), None, "account-owner")
    assert facts["known"] is True
    assert (facts["team"], facts["oncall"], facts["slack_channel"], facts["jira_component"]) == (
        "secops", "carol", "#sec-alerts", "Security"
    )  # fmt: skip
    unknown = _facts(Incident("x", "r", "000000000000"), None, "account-owner")
    assert unknown["known"] is False and "000000000000" in unknown["reason"]


@pytest.mark.parametrize(
    ("ip", "country", "allowed"),
    [("81.2.69.160", "United Kingdom", False), ("8.8.8.8", "United States", True)],
)
def test_geoip_locates_an_address_and_says_whether_its_country_is_allowed(ip, country, allowed):
    facts = _facts(Incident("x", "r", ACCOUNT, source_ip=ip), None, "geoip")
    assert facts["located"] and facts["country"] == country and facts["allowed"] is allowed
    assert facts["asn"] and facts["network"]


@pytest.mark.parametrize("ip", ["203.0.113.7", "10.1.2.3", "ec2.amazonaws.com"])
def test_geoip_of_a_documentation_private_or_service_address_is_not_located(ip):
    facts = _facts(Incident("x", "r", ACCOUNT, source_ip=ip), None, "geoip")
    assert facts["located"] is False and facts["reason"]


@pytest.mark.stack
def test_key_owner_of_the_stolen_key_is_the_developer_with_its_tags(clients):
    incident = Incident("access-key-used-from-unexpected-country", "AKIAIOSFODNN7EXAMPLE", ACCOUNT)
    facts = _facts(incident, clients, "key-owner")
    assert facts["known"] and facts["user"] == "developer"
    assert facts["team"] == "payments" and facts["tags"]["team"] == "payments"
    assert facts["status"] in ("Active", "Inactive") and facts["created"]


@pytest.mark.stack
def test_key_owner_finds_the_key_in_the_evidence_when_the_resource_is_not_one(clients):
    incident = Incident(
        "console-login-without-mfa",
        "developer",
        ACCOUNT,
        evidence=[{"userIdentity.accessKeyId": "AKIAIOSFODNN7EXAMPLE"}],
    )
    assert _facts(incident, clients, "key-owner")["user"] == "developer"
    assert _facts(Incident("x", "root", ACCOUNT), clients, "key-owner")["known"] is False


@pytest.mark.stack
def test_key_owner_of_a_deleted_key_is_unknown_not_a_failure(clients):
    iam = clients.aws("iam")
    user = f"t-enrich-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName=user, AccessKeyId=key)
    iam.delete_user(UserName=user)
    facts = _facts(Incident("x", key, ACCOUNT), clients, "key-owner")
    assert facts["known"] is False and "no IAM user" in facts["reason"]


@pytest.mark.stack
def test_resource_tags_of_a_security_group(clients):
    ec2 = clients.aws("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    tags = {"team": "payments", "service": "checkout", "env": "prod"}
    group = ec2.create_security_group(
        GroupName=f"t-enrich-{uuid.uuid4().hex[:8]}",
        Description="enricher test",
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "security-group",
             "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
    )["GroupId"]  # fmt: skip
    try:
        facts = _facts(Incident("security-group-open-to-world", group, ACCOUNT), clients,
                       "resource-tags")  # fmt: skip
        assert facts == {
            "kind": "security-group",
            "known": True,
            "team": "payments",
            "service": "checkout",
            "environment": "prod",
            "tags": tags,
        }
    finally:
        ec2.delete_security_group(GroupId=group)


@pytest.mark.stack
def test_resource_tags_of_the_lab_bucket_and_an_untagged_one(clients):
    facts = _facts(Incident("s3-bucket-made-public", "lab-data-123456789012", ACCOUNT), clients,
                   "resource-tags")  # fmt: skip
    assert facts["kind"] == "bucket" and facts["team"] == "payments"
    gone = _facts(Incident("s3-bucket-made-public", "t-no-such-bucket-x", ACCOUNT), clients,
                  "resource-tags")  # fmt: skip
    assert gone["known"] is False and gone["tags"] == {}


def _cloudtrail_event(arn: str, ip: str, when: dt.datetime) -> dict:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": ACCOUNT},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "eventID": str(uuid.uuid4()),
        "recipientAccountId": ACCOUNT,
    }


@pytest.mark.stack
def test_actor_history_counts_rise_with_the_actors_events(clients):
    from helpers import splunk

    arn = f"arn:aws:iam::{ACCOUNT}:user/t-history-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.UTC)
    incident = Incident(
        "access-key-used-from-unexpected-country", "AKIAIOSFODNN7EXAMPLE", ACCOUNT,
        actor=arn, source_ip="77.88.8.8", event_time=now.isoformat(),
    )  # fmt: skip
    fresh = _facts(incident, clients, "actor-history")
    assert fresh == {
        "known": True,
        "events_30d": 0,
        "events_last_hour": 0,
        "source_ips": [],
        "ip_seen_before": False,
        "country_seen_before": False,
    }
    earlier = now - dt.timedelta(days=2)
    events = [
        _cloudtrail_event(arn, "77.88.8.8", earlier),  # the same address, two days ago
        _cloudtrail_event(arn, "52.94.236.248", now - dt.timedelta(minutes=5)),
        _cloudtrail_event(arn, "52.94.236.248", now - dt.timedelta(minutes=4)),
    ]
    splunk.send_events(events, sourcetype="aws:cloudtrail", time_field="eventTime")
    deadline = time.monotonic() + 30
    while True:
        facts = _facts(incident, clients, "actor-history")
        if facts["events_30d"] >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert facts["events_30d"] == 3
    assert facts["events_last_hour"] == 2
    assert facts["source_ips"] == ["52.94.236.248", "77.88.8.8"]
    assert facts["ip_seen_before"] is True and facts["country_seen_before"] is True


def test_an_incident_without_an_actor_has_no_history():
    facts = _facts(Incident("x", "r", ACCOUNT), None, "actor-history")
    assert facts == {"known": False, "reason": "the incident names no actor"}


def _private_registry() -> Registry:
    registry = Registry("enricher")

    @enricher("fine", timeout=2.0, registry=registry)
    def fine(incident, clients):
        """Always answers."""
        return {"resource": incident.resource, "empty": ""}

    @enricher("broken", timeout=2.0, registry=registry)
    def broken(incident, clients):
        """Always fails."""
        raise RuntimeError("the lookup service is down")

    @enricher("slow", timeout=0.3, registry=registry)
    def slow(incident, clients):
        """Too slow."""
        time.sleep(5)
        return {"never": "seen"}

    @enricher("not-a-dict", timeout=2.0, registry=registry)
    def not_a_dict(incident, clients):
        """Answers the wrong type."""
        return ["a", "list"]

    return registry


def test_failing_and_slow_enrichers_are_unknown_with_the_reason_and_never_fail_enrich():
    results = enrich.enrich(Incident("x", "sg-1", ACCOUNT), object(), registry=_private_registry())
    assert results["fine"] == {"ok": True, "facts": {"resource": "sg-1", "empty": ""}, "reason": ""}
    assert results["broken"] == {
        "ok": False, "facts": {}, "reason": "RuntimeError: the lookup service is down",
    }  # fmt: skip
    assert results["slow"] == {"ok": False, "facts": {}, "reason": "timed out after 0.3s"}
    assert results["not-a-dict"]["ok"] is False
    assert "returned list, not a dict of facts" in results["not-a-dict"]["reason"]


def test_each_timeout_counts_from_the_start_not_after_the_enrichers_before_it():
    """A 0.6 s enricher that needs 1.4 s, listed after one that needs 1 s: it is past its own
    deadline, though only 0.4 s more pass after the first one is done (a deadline counted from
    the end of the wait for the first would let it finish). Each margin is 0.8 s or more."""
    registry = Registry("enricher")

    @enricher("first", timeout=2.0, registry=registry)
    def first(incident, clients):
        time.sleep(1.0)
        return {}

    @enricher("second", timeout=0.6, registry=registry)
    def second(incident, clients):
        time.sleep(1.4)
        return {}

    results = enrich.enrich(Incident("x", "r", ACCOUNT), object(), registry=registry)
    assert results["first"]["ok"] is True
    assert results["second"] == {"ok": False, "facts": {}, "reason": "timed out after 0.6s"}


def test_more_enrichers_than_threads_each_get_their_own_time():
    registry = Registry("enricher")
    for i in range(12):
        enricher(f"e{i}", timeout=1.5, registry=registry)(
            lambda incident, clients: time.sleep(0.5) or {}
        )
    results = enrich.enrich(Incident("x", "r", ACCOUNT), object(), registry=registry)
    assert all(r["ok"] for r in results.values()), results


def test_an_empty_private_registry_runs_nothing():
    assert enrich.enrich(Incident("x", "r", ACCOUNT), object(), registry=Registry("enricher")) == {}


def test_names_pick_enrichers_and_an_unknown_name_is_refused():
    registry = _private_registry()
    results = enrich.enrich(
        Incident("x", "r", ACCOUNT), object(), names=["fine"], registry=registry
    )
    assert list(results) == ["fine"]
    with pytest.raises(KeyError, match="unknown enricher 'nope'"):
        enrich.enrich(Incident("x", "r", ACCOUNT), object(), names=["nope"], registry=registry)


def test_summary_shows_facts_or_unknown_with_the_reason():
    results = enrich.enrich(Incident("x", "sg-1", ACCOUNT), object(), registry=_private_registry())
    assert summary(results).splitlines() == [
        "fine: resource: sg-1",
        "broken: unknown (RuntimeError: the lookup service is down)",
        "slow: unknown (timed out after 0.3s)",
        "not-a-dict: unknown (TypeError: returned list, not a dict of facts)",
    ]
    assert summary({"quiet": {"ok": True, "facts": {"a": None}, "reason": ""}}) == (
        "quiet: nothing found"
    )
