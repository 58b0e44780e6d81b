"""``block-s3-public-access``: a bucket (or the account) is private again, and stays so.

Turns on all four public-access-block flags, removes the ACL grants to everyone
(``AllUsers``) and to every AWS account (``AuthenticatedUsers``), and removes the bucket policy's
``Allow`` statements whose principal is ``*`` -- keeping every other statement and grant. For the
account-level block (``s3-public-access-block-removed`` on the account) it restores the account's
public access block.

>>> from helpers.incident import Incident
>>> incident = Incident("s3-bucket-made-public", "lab-data-123456789012", "123456789012")
>>> print(BlockPublicAccess().plan(incident, clients).describe())         # doctest: +SKIP
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Change, Plan, Playbook, Verification, playbook

__all__ = ["ACCOUNT_RESOURCE", "BLOCK_ALL", "BlockPublicAccess", "public_statement"]

#: The resource name detections give the account-wide public access block.
ACCOUNT_RESOURCE = "account-public-access-block"
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def public_statement(statement: dict) -> bool:
    """An ``Allow`` whose principal is everyone (``*`` or ``{"AWS": "*"}``) and no condition.

    >>> public_statement({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:*"})
    True
    >>> public_statement({"Effect": "Allow", "Principal": "*", "Condition": {"IpAddress": {}}})
    False
    """
    if statement.get("Effect") != "Allow" or statement.get("Condition"):
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = principal.get("AWS", [])
        return "*" in ([values] if isinstance(values, str) else values)
    return False


def _missing(err: ClientError, *codes: str) -> bool:
    return err.response["Error"]["Code"] in codes


@playbook
class BlockPublicAccess(Playbook):
    """Block public access and remove public grants and statements, keeping all others."""

    name = "block-s3-public-access"
    description = "Block public access; remove public ACL grants and Principal * statements."
    permissions = (
        "s3:GetBucketAcl",
        "s3:GetBucketPolicy",
        "s3:GetBucketPolicyStatus",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketTagging",
        "s3:PutBucketAcl",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetAccountPublicAccessBlock",
        "s3:PutAccountPublicAccessBlock",
    )

    # -- reading -----------------------------------------------------------------------------------
    def _block(self, clients: Clients, bucket: str) -> dict:
        try:
            found = clients.aws("s3").get_public_access_block(Bucket=bucket)
            return found["PublicAccessBlockConfiguration"]
        except ClientError as err:
            if _missing(err, "NoSuchPublicAccessBlockConfiguration"):
                return {}
            raise

    def _policy(self, clients: Clients, bucket: str) -> dict | None:
        try:
            return json.loads(clients.aws("s3").get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as err:
            if _missing(err, "NoSuchBucketPolicy"):
                return None
            raise

    def _tags(self, clients: Clients, bucket: str) -> dict:
        try:
            tags = clients.aws("s3").get_bucket_tagging(Bucket=bucket)["TagSet"]
        except ClientError as err:
            if _missing(err, "NoSuchTagSet", "NoSuchTagSetError"):
                return {}
            raise
        return {t["Key"]: t["Value"] for t in tags}

    def _account_block(self, clients: Clients, account: str) -> dict:
        try:
            found = clients.aws("s3control").get_public_access_block(AccountId=account)
            return found["PublicAccessBlockConfiguration"]
        except ClientError as err:
            if _missing(err, "NoSuchPublicAccessBlockConfiguration"):
                return {}
            raise

    # -- the three steps ---------------------------------------------------------------------------
    def plan(self, incident: Incident, clients: Clients) -> Plan:
        if incident.resource == ACCOUNT_RESOURCE:
            return self._plan_account(incident, clients)
        bucket = incident.resource
        plan = Plan(self.name, bucket)
        s3 = clients.aws("s3")
        try:
            acl = s3.get_bucket_acl(Bucket=bucket)
        except ClientError as err:
            if _missing(err, "NoSuchBucket"):
                plan.nothing_to_do = f"bucket {bucket} no longer exists"
                return plan
            raise
        tags = self._tags(clients, bucket)
        if clients.policy.protected(tags):
            key = clients.policy.protected_key
            plan.exempt = f"bucket {bucket} is tagged {key}={tags[key]}"
            return plan
        lines = [f"Bucket {bucket}:"]
        block = self._block(clients, bucket)
        if not all(block.get(flag) for flag in BLOCK_ALL):
            plan.changes.append(
                Change(
                    "s3",
                    "PutPublicAccessBlock",
                    {"Bucket": bucket, "PublicAccessBlockConfiguration": BLOCK_ALL},
                    "block all public access",
                )
            )
            if block:
                plan.rollback.append(
                    Change(
                        "s3",
                        "PutPublicAccessBlock",
                        {"Bucket": bucket, "PublicAccessBlockConfiguration": block},
                        "put back the previous public access block",
                    )
                )
            else:
                plan.rollback.append(
                    Change(
                        "s3",
                        "DeletePublicAccessBlock",
                        {"Bucket": bucket},
                        "remove the public access block",
                    )
                )
            lines.append(f"- public access block {block or 'none'} -> all four flags on")
        grants = acl.get("Grants", [])
        public = [g for g in grants if g.get("Grantee", {}).get("URI") in PUBLIC_GROUPS]
        if public:
            kept = [g for g in grants if g not in public]
            owner = acl["Owner"]
            plan.changes.append(
                Change(
                    "s3",
                    "PutBucketAcl",
                    {"Bucket": bucket, "AccessControlPolicy": {"Owner": owner, "Grants": kept}},
                    f"remove {len(public)} public ACL grant(s)",
                )
            )
            plan.rollback.append(
                Change(
                    "s3",
                    "PutBucketAcl",
                    {"Bucket": bucket, "AccessControlPolicy": {"Owner": owner, "Grants": grants}},
                    "put back the previous ACL",
                )
            )
            for grant in public:
                who = grant["Grantee"]["URI"].rsplit("/", 1)[-1]
                lines.append(f"- ACL grant {grant['Permission']} to {who}")
        policy = self._policy(clients, bucket)
        if policy is not None:
            statements = policy.get("Statement", [])
            statements = [statements] if isinstance(statements, dict) else statements
            removed = [s for s in statements if public_statement(s)]
            kept_statements = [s for s in statements if not public_statement(s)]
            if removed:
                before = json.dumps(policy)
                if kept_statements:
                    after = json.dumps({**policy, "Statement": kept_statements})
                    plan.changes.append(
                        Change(
                            "s3",
                            "PutBucketPolicy",
                            {"Bucket": bucket, "Policy": after},
                            f"remove {len(removed)} Principal * statement(s), keep "
                            f"{len(kept_statements)}",
                        )
                    )
                else:
                    plan.changes.append(
                        Change(
                            "s3",
                            "DeleteBucketPolicy",
                            {"Bucket": bucket},
                            "delete the policy (its only statements were public)",
                        )
                    )
                plan.rollback.append(
                    Change(
                        "s3",
                        "PutBucketPolicy",
                        {"Bucket": bucket, "Policy": before},
                        "put back the previous policy",
                    )
                )
                for statement in removed:
                    lines.append(
                        f"- policy statement {statement.get('Sid', '(no Sid)')}: "
                        f"{statement.get('Action')} to everyone"
                    )
                plan.kept += [
                    f"policy statement {s.get('Sid', '(no Sid)')}" for s in kept_statements
                ]
        if not plan.changes:
            plan.nothing_to_do = f"bucket {bucket} is not public and blocks public access"
        plan.diff = "\n".join(lines)
        return plan

    def _plan_account(self, incident: Incident, clients: Clients) -> Plan:
        plan = Plan(self.name, incident.resource)
        account = incident.account
        block = self._account_block(clients, account)
        if all(block.get(flag) for flag in BLOCK_ALL):
            plan.nothing_to_do = f"account {account} blocks all public access"
            return plan
        plan.changes.append(
            Change(
                "s3control",
                "PutPublicAccessBlock",
                {"AccountId": account, "PublicAccessBlockConfiguration": BLOCK_ALL},
                f"block all public access in account {account}",
            )
        )
        plan.diff = f"Account {account} public access block: {block or 'none'} -> all four on"
        return plan

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        if incident.resource == ACCOUNT_RESOURCE:
            block = self._account_block(clients, incident.account)
            ok = all(block.get(f) for f in BLOCK_ALL)
            return Verification(ok, f"account public access block: {block}", {"block": block})
        bucket = incident.resource
        s3 = clients.aws("s3")
        try:
            grants = s3.get_bucket_acl(Bucket=bucket).get("Grants", [])
        except ClientError as err:
            return Verification(False, f"cannot read bucket {bucket}: {err}")
        block = self._block(clients, bucket)
        policy = self._policy(clients, bucket) or {}
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        try:
            status = s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]
        except ClientError:
            status = None  # no policy, or a Splunk-less stand-in without policy status
        problems = []
        if not all(block.get(f) for f in BLOCK_ALL):
            problems.append(f"public access block incomplete: {block}")
        if any(g.get("Grantee", {}).get("URI") in PUBLIC_GROUPS for g in grants):
            problems.append("ACL still grants to everyone")
        if any(public_statement(s) for s in statements) or status is True:
            problems.append("policy still allows everyone")
        observed = {"block": block, "grants": grants, "policy_is_public": status}
        if problems:
            return Verification(False, "; ".join(problems), observed)
        return Verification(True, f"{bucket} is private and blocks public access", observed)
