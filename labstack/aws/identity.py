"""Resolve a request's access key to CloudTrail's ``userIdentity`` against the emulated IAM.

IAM user keys give ``IAMUser``; STS session keys give ``AssumedRole`` with ``sessionContext``;
the account's root key gives ``Root`` (CloudTrail User Guide, "CloudTrail userIdentity element").
Keys nobody issued are written as ``Unknown`` with the key and account, never an error.
"""

from __future__ import annotations

import threading

from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

PARTITION = "aws"


class IdentityResolver:
    def __init__(self, root_keys: dict[str, str]):
        """``root_keys`` maps a root access key id to its account id."""
        self.root_keys = dict(root_keys)
        self._cache: dict[str, dict] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def resolve(self, access_key_id: str | None) -> dict:
        if not access_key_id:
            return {"type": "AWSService", "invokedBy": "lab.amazonaws.com"}
        with self._lock:
            cached = self._cache.get(access_key_id)
        if cached is not None:
            return cached
        identity = self._lookup(access_key_id)
        if identity["type"] != "Unknown":
            with self._lock:
                self._cache[access_key_id] = identity
        return identity

    def by_user_name(self, user_name: str, account_id: str) -> dict:
        """The ``IAMUser`` identity of a user (console sign-ins have no access key)."""
        user = iam_backends[account_id][PARTITION].get_user(user_name)
        return _iam_user(user, account_id, None)

    def root(self, account_id: str) -> dict:
        return {
            "type": "Root",
            "principalId": account_id,
            "arn": f"arn:aws:iam::{account_id}:root",
            "accountId": account_id,
        }

    def _lookup(self, key: str) -> dict:
        if key in self.root_keys:
            return {**self.root(self.root_keys[key]), "accessKeyId": key}
        account_id = get_account_id_from(key)
        backend = iam_backends[account_id][PARTITION]
        for user in list(backend.users.values()):
            for access_key in list(user.access_keys):
                if access_key.access_key_id == key:
                    return _iam_user(user, account_id, key)
        role = sts_backends[account_id][PARTITION].get_assumed_role_from_access_key(key)
        if role is None:
            for acct in list(sts_backends):
                role = sts_backends[acct][PARTITION].get_assumed_role_from_access_key(key)
                if role is not None:
                    account_id = acct
                    break
        if role is not None:
            return _assumed_role(role, account_id, key)
        return {"type": "Unknown", "accountId": account_id, "accessKeyId": key}


def _iam_user(user, account_id: str, key: str | None) -> dict:
    identity = {
        "type": "IAMUser",
        "principalId": user.id,
        "arn": user.arn,
        "accountId": account_id,
    }
    if key:
        identity["accessKeyId"] = key
    identity["userName"] = user.name
    return identity


def _assumed_role(role, account_id: str, key: str) -> dict:
    role_name = role.role_arn.split("/")[-1]
    try:
        role_id = iam_backends[account_id][PARTITION].get_role_by_arn(role.role_arn).id
    except Exception:  # the role may be gone (or never existed): keep the name
        role_id = "AROA" + role_name.upper()[:17]
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{role.session_name}",
        "arn": f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{role.session_name}",
        "accountId": account_id,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role.role_arn,
                "accountId": account_id,
                "userName": role_name,
            },
            "webIdFederationData": {},
            "attributes": {
                "creationDate": role.created.strftime("%Y-%m-%dT%H:%M:%SZ")
                if getattr(role, "created", None)
                else None,
                "mfaAuthenticated": "false",
            },
        },
    }
