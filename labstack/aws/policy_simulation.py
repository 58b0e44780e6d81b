"""IAM ``SimulatePrincipalPolicy`` for the emulated account (moto has no policy simulator).

It evaluates the identity-based policies of a user (inline, attached, and its groups') or a role
(inline and attached) for each action and resource, as the IAM policy simulator does: an explicit
deny wins, then an allow, else an implicit deny. Conditions are evaluated only as far as moto's
own policy engine does; permissions boundaries, SCPs and resource policies are not considered
(the simulator leaves them out too unless they are passed in). That is enough for ``lab doctor``
to tell which declared permission an identity lacks.
"""

from __future__ import annotations

import json

from moto.core.responses import ActionResult
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.responses import IamResponse

DECISIONS = {
    PermissionResult.PERMITTED: "allowed",
    PermissionResult.DENIED: "explicitDeny",
    PermissionResult.NEUTRAL: "implicitDeny",
}


def _documents(backend, arn: str) -> list[tuple[str, str]]:
    """``(source id, policy JSON)`` of every identity-based policy of the principal ``arn``."""
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    if kind == "user":
        user = backend.get_user(name)
        holders = [user, *backend.get_groups_for_user(name)]
    elif kind == "role":
        holders = [backend.get_role_by_arn(arn)]
    else:
        from moto.iam.exceptions import IAMNotFoundException

        raise IAMNotFoundException(f"PolicySourceArn {arn} is not a user or a role")
    documents = []
    for holder in holders:
        documents += [(policy_name, doc) for policy_name, doc in holder.policies.items()]
        for managed in holder.managed_policies.values():
            version = next(v for v in managed.versions if v.is_default)
            documents.append((managed.arn, version.document))
    return documents


def _decide(documents: list[tuple[str, str]], action: str, resource: str) -> tuple[str, list]:
    decision, matched = PermissionResult.NEUTRAL, []
    for source, document in documents:
        text = document if isinstance(document, str) else json.dumps(document)
        result = IAMPolicy(text).is_action_permitted(action, resource)
        if result != PermissionResult.NEUTRAL:
            matched.append({"SourcePolicyId": source, "SourcePolicyType": "IAM Policy"})
        if result == PermissionResult.DENIED:
            return DECISIONS[result], matched
        if result == PermissionResult.PERMITTED:
            decision = result
    return DECISIONS[decision], matched


def simulate_principal_policy(self: IamResponse) -> ActionResult:
    arn = self._get_param("PolicySourceArn")
    actions = self._get_param("ActionNames", [])
    resources = self._get_param("ResourceArns", []) or ["*"]
    documents = _documents(self.backend, arn)
    results = []
    for action in actions:
        for resource in resources:
            decision, matched = _decide(documents, action, resource)
            results.append({"EvalActionName": action, "EvalResourceName": resource,
                            "EvalDecision": decision, "MatchedStatements": matched,
                            "MissingContextValues": []})  # fmt: skip
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def apply() -> None:
    IamResponse.simulate_principal_policy = simulate_principal_policy
