"""The automation identity's policy is exactly what its enrichers and playbooks declare."""

from __future__ import annotations

from helpers import enrich, playbooks
from labstack.aws.account import load_account

#: The statement that is not about enrichment or remediation: reading the SNS alert queue.
QUEUE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl",
                 "sqs:GetQueueAttributes"}  # fmt: skip


def test_the_lab_accounts_automation_policy_is_the_declared_permissions():
    declared = set(playbooks.permissions()) | set(enrich.permissions())
    granted = set()
    for statement in load_account().raw["automation_policy"]["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
        actions = statement["Action"]
        granted |= set([actions] if isinstance(actions, str) else actions)
    assert not any("*" in action for action in granted)  # least privilege: no wildcards
    assert granted - QUEUE_ACTIONS == declared
