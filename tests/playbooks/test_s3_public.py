"""``block-s3-public-access`` against the emulated S3, on buckets of the tests' own: the public
ACL grants and ``Principal: *`` statements go, every other grant and statement stays, all four
block flags end on, ``verify`` reads it back, and the rollback puts everything back."""

from __future__ import annotations

import json

import pytest

from helpers import playbooks
from helpers.incident import Incident
from helpers.playbooks import Plan
from helpers.playbooks.s3_public import ACCOUNT_RESOURCE, BLOCK_ALL, PUBLIC_GROUPS

pytestmark = pytest.mark.stack

PLAYBOOK = playbooks.get("block-s3-public-access")
ACCOUNT = "123456789012"


def _incident(bucket: str, detection: str = "s3-bucket-made-public") -> Incident:
    return Incident(detection, bucket, ACCOUNT)


def _statement(bucket: str, sid: str, principal) -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def _state(clients, bucket: str) -> dict:
    s3 = clients.aws("s3")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        block = None
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = None
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    public = sorted(
        (g["Grantee"]["URI"].rsplit("/", 1)[-1], g["Permission"])
        for g in grants
        if g["Grantee"].get("URI") in PUBLIC_GROUPS
    )
    return {"block": block, "policy": policy, "public_grants": public, "grants": len(grants)}


def _make_public(clients, bucket: str, *statements: dict, acl: str = "public-read") -> None:
    s3 = clients.aws("s3")
    s3.put_bucket_acl(Bucket=bucket, ACL=acl)
    if statements:
        policy = {"Version": "2012-10-17", "Statement": list(statements)}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def test_public_grants_and_statements_go_the_private_statement_stays(clients, bucket):
    name = bucket()
    private = _statement(name, "Ops", {"AWS": "arn:aws:iam::123456789012:user/developer"})
    _make_public(clients, name, _statement(name, "PublicRead", "*"), private)
    before = _state(clients, name)
    assert before["public_grants"] == [("AllUsers", "READ")]
    verification = PLAYBOOK.verify(_incident(name), clients)
    assert not verification.ok
    for problem in ("public access block", "ACL still grants", "policy still allows"):
        assert problem in verification.details

    plan = PLAYBOOK.plan(_incident(name), clients)
    assert _state(clients, name) == before  # planning changes nothing
    assert [c.operation for c in plan.changes] == [
        "PutPublicAccessBlock",
        "PutBucketAcl",
        "PutBucketPolicy",
    ]
    assert plan.kept == ["policy statement Ops"]
    assert "PublicRead" in plan.diff and "AllUsers" in plan.diff

    PLAYBOOK.apply(plan, clients)
    after = _state(clients, name)
    assert after["block"] == BLOCK_ALL
    assert after["public_grants"] == []
    assert after["grants"] == before["grants"] - 1  # the owner's grant stays
    assert after["policy"]["Statement"] == [private]
    verification = PLAYBOOK.verify(_incident(name), clients)
    assert verification.ok, verification.details
    assert verification.observed["policy_is_public"] is False

    PLAYBOOK.apply(Plan(PLAYBOOK.name, name, changes=plan.rollback), clients)
    assert _state(clients, name) == before


def test_a_policy_of_only_public_statements_is_deleted(clients, bucket):
    name = bucket()
    _make_public(
        clients,
        name,
        _statement(name, "A", "*"),
        _statement(name, "B", {"AWS": ["*"]}),
        acl="private",
    )
    plan = PLAYBOOK.plan(_incident(name), clients)
    assert "DeleteBucketPolicy" in [c.operation for c in plan.changes]
    PLAYBOOK.apply(plan, clients)
    assert _state(clients, name)["policy"] is None
    assert PLAYBOOK.verify(_incident(name), clients).ok
    PLAYBOOK.apply(Plan(PLAYBOOK.name, name, changes=plan.rollback), clients)
    assert len(_state(clients, name)["policy"]["Statement"]) == 2


def test_a_grant_to_every_aws_account_is_public_too(clients, bucket):
    name = bucket()
    _make_public(clients, name, acl="authenticated-read")
    assert _state(clients, name)["public_grants"] == [("AuthenticatedUsers", "READ")]
    plan = PLAYBOOK.plan(_incident(name), clients)
    PLAYBOOK.apply(plan, clients)
    assert _state(clients, name)["public_grants"] == []
    assert PLAYBOOK.verify(_incident(name), clients).ok


def test_a_removed_public_access_block_is_put_back(clients, bucket):
    """s3-public-access-block-removed: the bucket itself was private all along."""
    name = bucket()
    s3 = clients.aws("s3")
    partial = {**BLOCK_ALL, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=partial)
    incident = _incident(name, "s3-public-access-block-removed")
    plan = PLAYBOOK.plan(incident, clients)
    assert [c.operation for c in plan.changes] == ["PutPublicAccessBlock"]
    PLAYBOOK.apply(plan, clients)
    assert _state(clients, name)["block"] == BLOCK_ALL
    assert PLAYBOOK.verify(incident, clients).ok
    PLAYBOOK.apply(Plan(PLAYBOOK.name, name, changes=plan.rollback), clients)
    assert _state(clients, name)["block"] == partial


def test_a_private_blocked_bucket_has_nothing_to_do(clients, bucket):
    name = bucket()
    clients.aws("s3").put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL)
    plan = PLAYBOOK.plan(_incident(name), clients)
    assert plan.changes == [] and "is not public" in plan.nothing_to_do


def test_a_bucket_tagged_auto_remediate_off_is_exempt_and_unchanged(clients, bucket):
    name = bucket(tags={"auto-remediate": "false", "team": "payments"})
    _make_public(clients, name, _statement(name, "PublicRead", "*"))
    before = _state(clients, name)
    plan = PLAYBOOK.plan(_incident(name), clients)
    assert plan.changes == [] and plan.exempt == f"bucket {name} is tagged auto-remediate=false"
    assert _state(clients, name) == before


def test_a_deleted_bucket_has_nothing_to_do(clients, bucket):
    name = bucket()
    clients.aws("s3").delete_bucket(Bucket=name)
    plan = PLAYBOOK.plan(_incident(name), clients)
    assert plan.changes == [] and plan.nothing_to_do == f"bucket {name} no longer exists"
    assert not PLAYBOOK.verify(_incident(name), clients).ok


def test_the_account_public_access_block_is_restored(clients):
    """s3-public-access-block-removed on the account (the shared account: restored after)."""
    s3control = clients.aws("s3control")
    try:
        before = s3control.get_public_access_block(AccountId=ACCOUNT)[
            "PublicAccessBlockConfiguration"
        ]
    except s3control.exceptions.ClientError:
        before = None
    incident = Incident("s3-public-access-block-removed", ACCOUNT_RESOURCE, ACCOUNT)
    try:
        s3control.delete_public_access_block(AccountId=ACCOUNT)
        assert not PLAYBOOK.verify(incident, clients).ok
        plan = PLAYBOOK.plan(incident, clients)
        assert [c.service for c in plan.changes] == ["s3control"]
        PLAYBOOK.apply(plan, clients)
        assert PLAYBOOK.verify(incident, clients).ok
        assert PLAYBOOK.plan(incident, clients).nothing_to_do
    finally:
        if before is None:
            s3control.delete_public_access_block(AccountId=ACCOUNT)
        else:
            s3control.put_public_access_block(
                AccountId=ACCOUNT, PublicAccessBlockConfiguration=before
            )
