"""Fixtures for the playbook tests: the session's world, the student's clients, and resources
of each test's own (unique names, removed afterwards) so tests never share state with each other
or with the scenarios other tests run against the lab account."""

from __future__ import annotations

import contextlib
import uuid

import pytest
import yaml

from helpers.aws import session
from helpers.clients import Clients
from helpers.config import get_settings
from helpers.playbooks.guardrails import DEFAULT_POLICY, Policy

ACCOUNT = "123456789012"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


#: The remediations the detections name (notify-only aside).
PLAYBOOKS = (
    "revoke-security-group-ingress",
    "disable-access-key",
    "restart-cloudtrail-logging",
    "block-s3-public-access",
    "re-enable-guardduty",
    "restart-config-recorder",
)


def policy_with(**changes) -> Policy:
    """The repository's policy with some settings replaced (``allowlist=[...]`` ...)."""
    doc = yaml.safe_load(DEFAULT_POLICY.read_text())
    doc.update(changes)
    return Policy.from_dict(doc, source="test")


@pytest.fixture
def clients(lab_world) -> Clients:
    """Clients signing as the student (student-admin), with the repository's policy."""
    return Clients(get_settings())


@pytest.fixture
def clients_as(lab_world):
    """``clients_as(key_id, secret, policy=None)``: Clients signing with another access key."""

    def make(key_id: str, secret: str, policy: Policy | None = None) -> Clients:
        settings = get_settings()
        lab = session(settings, aws_access_key_id=key_id, aws_secret_access_key=secret)
        return Clients(settings, aws_session=lab, policy=policy)

    return make


@pytest.fixture
def iam_user(clients):
    """``iam_user(tags=None, key=True)`` -> (user name, access key dict or None); removed after."""
    iam = clients.aws("iam")
    made: list[str] = []

    def make(tags: dict | None = None, key: bool = True, name: str | None = None):
        name = name or unique("t-user")
        iam.create_user(
            UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        )
        made.append(name)
        access = iam.create_access_key(UserName=name)["AccessKey"] if key else None
        return name, access

    yield make
    for name in made:
        for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
        iam.delete_user(UserName=name)


@pytest.fixture
def security_group(clients):
    """``security_group(name=None, tags=None)`` -> group id, in the lab VPC; deleted after."""
    ec2 = clients.aws("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    made: list[str] = []

    def make(name: str | None = None, tags: dict | None = None) -> str:
        spec = (
            [{"ResourceType": "security-group",
              "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
            if tags else []
        )  # fmt: skip
        group = ec2.create_security_group(
            GroupName=name or unique("t-sg"),
            Description="playbook test",
            VpcId=vpc,
            TagSpecifications=spec,
        )["GroupId"]
        made.append(group)
        return group

    yield make
    for group in made:
        with contextlib.suppress(ec2.exceptions.ClientError):  # deleted by the test itself
            ec2.delete_security_group(GroupId=group)


@pytest.fixture
def bucket(clients):
    """``bucket(tags=None)`` -> a new bucket's name; emptied of policy and deleted after."""
    s3 = clients.aws("s3")
    made: list[str] = []

    def make(tags: dict | None = None, name: str | None = None) -> str:
        name = name or unique("t-bucket")
        s3.create_bucket(Bucket=name)
        if tags:
            s3.put_bucket_tagging(
                Bucket=name,
                Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
            )
        made.append(name)
        return name

    yield make
    for name in made:
        with contextlib.suppress(s3.exceptions.ClientError):  # deleted by the test itself
            for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
                s3.delete_object(Bucket=name, Key=obj["Key"])
            s3.delete_bucket(Bucket=name)
