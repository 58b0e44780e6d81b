"""The AWS stand-in's SimulatePrincipalPolicy (moto has none): identity policies of a user, its
groups, and a role, decided as IAM's simulator decides (explicit deny, allow, implicit deny)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from labstack.aws import policy_simulation


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def iam(monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not a world's
    policy_simulation.apply()
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def decisions(iam, arn: str, *actions: str) -> dict[str, str]:
    found = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=list(actions))
    return {r["EvalActionName"]: r["EvalDecision"] for r in found["EvaluationResults"]}


def test_a_users_inline_group_and_managed_policies_count(iam):
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="ec2", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"}))  # fmt: skip
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="alice")
    iam.attach_group_policy(GroupName="readers",
                            PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")  # fmt: skip
    arn = iam.get_user(UserName="alice")["User"]["Arn"]
    assert decisions(iam, arn, "ec2:RevokeSecurityGroupIngress", "ec2:RunInstances",
                     "s3:GetObject", "iam:UpdateAccessKey") == {
        "ec2:RevokeSecurityGroupIngress": "allowed",
        "ec2:RunInstances": "explicitDeny",
        "s3:GetObject": "allowed",
        "iam:UpdateAccessKey": "implicitDeny",
    }  # fmt: skip


def test_a_roles_policies_count(iam):
    trust = _doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                  "Action": "sts:AssumeRole"})  # fmt: skip
    arn = iam.create_role(RoleName="automation", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName="automation", PolicyName="p", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["iam:UpdateAccessKey"], "Resource": "*"}))  # fmt: skip
    assert decisions(iam, arn, "iam:UpdateAccessKey", "iam:DeleteUser") == {
        "iam:UpdateAccessKey": "allowed",
        "iam:DeleteUser": "implicitDeny",
    }
