"""``disable-access-key``: set one access key Inactive (never delete it).

Never touched: the automation's own key or identity, a break-glass user's key (the policy's
``break_glass_users``, or a user tagged ``break-glass``), a key or user on the allowlist, and a
user tagged with the protected tag. Those incidents end ``exempt`` and the ticket says why; a key
is a person's, so the policy asks for approval by default.

>>> from helpers.incident import Incident
>>> incident = Incident("access-key-used-from-unexpected-country", "AKIAIOSFODNN7EXAMPLE",
...                     "123456789012")
>>> DisableAccessKey().plan(incident, clients).describe()                  # doctest: +SKIP
'- set AKIAIOSFODNN7EXAMPLE of developer Inactive: iam.update_access_key(...)'
"""

from __future__ import annotations

import re

from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Change, Plan, Playbook, Verification, playbook

__all__ = ["DisableAccessKey", "key_owner"]

#: A user tagged with this key (any value but false/no) is a break-glass user.
BREAK_GLASS_TAG = "break-glass"
#: What an IAM access key id looks like (long-term AKIA..., temporary ASIA...).
KEY_ID = re.compile(r"A[KS]IA[A-Z0-9]{12,124}")


def key_owner(clients: Clients, key_id: str) -> str | None:
    """The IAM user an access key belongs to (None when the key does not exist)."""
    try:
        return clients.aws("iam").get_access_key_last_used(AccessKeyId=key_id).get("UserName")
    except ClientError as err:
        if err.response["Error"]["Code"] in (
            "NoSuchEntity",
            "AccessDenied",
            "InvalidClientTokenId",
        ):
            return None
        raise


def _status(clients: Clients, user: str, key_id: str) -> str | None:
    keys = clients.aws("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
    return next((k["Status"] for k in keys if k["AccessKeyId"] == key_id), None)


@playbook
class DisableAccessKey(Playbook):
    """Set the alerted access key Inactive; guarded for break-glass and the automation's key."""

    name = "disable-access-key"
    description = "Set the alerted access key Inactive (never deleted; rollback re-activates it)."
    permissions = (
        "iam:GetAccessKeyLastUsed",
        "iam:ListAccessKeys",
        "iam:ListUserTags",
        "iam:UpdateAccessKey",
        "sts:GetCallerIdentity",
    )

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        key_id = incident.resource
        plan = Plan(self.name, key_id)
        if not KEY_ID.fullmatch(key_id):  # e.g. a user name, when the detection had no key id
            plan.nothing_to_do = f"{key_id} is not an access key id: a person must find the key"
            return plan
        user = key_owner(clients, key_id)
        if user is None:
            plan.nothing_to_do = f"access key {key_id} no longer exists"
            return plan
        reason = self._protected(clients, key_id, user)
        if reason:
            plan.exempt = reason
            return plan
        status = _status(clients, user, key_id)
        if status == "Inactive":
            plan.nothing_to_do = f"access key {key_id} of {user} is already Inactive"
            return plan
        params = {"UserName": user, "AccessKeyId": key_id}
        plan.changes.append(
            Change(
                "iam",
                "UpdateAccessKey",
                {**params, "Status": "Inactive"},
                f"set {key_id} of {user} Inactive",
            )
        )
        plan.rollback.append(
            Change(
                "iam",
                "UpdateAccessKey",
                {**params, "Status": "Active"},
                f"re-activate {key_id} of {user}",
            )
        )
        plan.diff = f"Access key {key_id} of IAM user {user}: Active -> Inactive"
        return plan

    def _protected(self, clients: Clients, key_id: str, user: str) -> str:
        policy = clients.policy
        if key_id == clients.caller_key():
            return f"{key_id} is the automation's own key"
        caller = clients.caller_arn()
        if caller.endswith(f":user/{user}") or user in policy.automation_users:
            return f"{user} is the automation's own identity"
        tags = {
            t["Key"]: t["Value"]
            for t in clients.aws("iam").list_user_tags(UserName=user).get("Tags", [])
        }
        glass = str(tags.get(BREAK_GLASS_TAG, "")).lower() not in ("", "false", "no")
        if user in policy.break_glass_users or glass:
            return f"{user} is a break-glass user: a person must handle {key_id}"
        if policy.protected(tags):
            return f"{user} is tagged {policy.protected_key}={tags[policy.protected_key]}"
        allowed = policy.allowed(self.name, key_id, user=user) or policy.allowed(
            self.name, user, user=user
        )
        if allowed is not None:
            return f"{key_id} is allowed by policy: {allowed.reason}"
        return ""

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        key_id = incident.resource
        if not KEY_ID.fullmatch(key_id):
            return Verification(False, f"{key_id} is not an access key id")
        user = key_owner(clients, key_id)
        if user is None:
            return Verification(False, f"access key {key_id} no longer exists")
        status = _status(clients, user, key_id)
        observed = {"user": user, "status": status}
        if status == "Inactive":
            return Verification(True, f"{key_id} of {user} is Inactive", observed)
        return Verification(False, f"{key_id} of {user} is still {status}", observed)
