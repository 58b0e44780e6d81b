"""``disable-access-key`` against the emulated IAM: the attacker-style key goes Inactive (never
deleted); the automation's own key, break-glass users, protected and allowlisted users are never
touched and the plan says why; a key already Inactive or deleted leaves nothing to do."""

from __future__ import annotations

import pytest

from helpers import playbooks
from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Plan
from tests.playbooks.conftest import ACCOUNT, policy_with

pytestmark = pytest.mark.stack

PLAYBOOK = playbooks.get("disable-access-key")


def _incident(key_id: str) -> Incident:
    return Incident(
        "access-key-used-from-unexpected-country",
        key_id,
        ACCOUNT,
        source_ip="77.88.8.8",
    )


def _status(clients, user: str, key_id: str) -> str | None:
    keys = clients.aws("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
    return next((k["Status"] for k in keys if k["AccessKeyId"] == key_id), None)


def _untouched(clients, plan: Plan, user: str, key_id: str) -> None:
    assert plan.changes == [] and plan.rollback == []
    assert plan.exempt and plan.describe().startswith("Exempt: ")
    assert _status(clients, user, key_id) == "Active"


def test_the_stolen_key_goes_inactive_and_is_kept(clients, iam_user):
    user, key = iam_user(tags={"team": "payments"})
    incident = _incident(key["AccessKeyId"])
    assert not PLAYBOOK.verify(incident, clients).ok

    plan = PLAYBOOK.plan(incident, clients)
    assert [(c.operation, c.params["Status"]) for c in plan.changes] == [
        ("UpdateAccessKey", "Inactive")
    ]
    assert plan.changes[0].params["UserName"] == user
    assert _status(clients, user, key["AccessKeyId"]) == "Active"  # planning changes nothing

    PLAYBOOK.apply(plan, clients)
    assert _status(clients, user, key["AccessKeyId"]) == "Inactive"  # still there: not deleted
    verification = PLAYBOOK.verify(incident, clients)
    assert verification.ok and verification.observed == {"user": user, "status": "Inactive"}

    PLAYBOOK.apply(Plan(PLAYBOOK.name, key["AccessKeyId"], changes=plan.rollback), clients)
    assert _status(clients, user, key["AccessKeyId"]) == "Active"


def test_the_key_the_automation_signs_with_is_never_touched(clients_as, iam_user, clients):
    user, key = iam_user()  # stands for the automation identity: its name is not in the policy
    automation = clients_as(key["AccessKeyId"], key["SecretAccessKey"])
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), automation)
    assert plan.exempt == f"{key['AccessKeyId']} is the automation's own key"
    _untouched(clients, plan, user, key["AccessKeyId"])


def test_another_key_of_the_automation_identity_is_never_touched(clients_as, iam_user, clients):
    user, key = iam_user()
    second = clients.aws("iam").create_access_key(UserName=user)["AccessKey"]
    automation = clients_as(key["AccessKeyId"], key["SecretAccessKey"])
    plan = PLAYBOOK.plan(_incident(second["AccessKeyId"]), automation)
    assert plan.exempt == f"{user} is the automation's own identity"
    _untouched(clients, plan, user, second["AccessKeyId"])


def test_the_policys_automation_user_is_never_touched(clients):
    """The lab's automation user (policy automation_users), alerted on while the student signs."""
    plan = PLAYBOOK.plan(_incident("AKIAEXAMPLEAUTOMAT01"), clients)
    assert plan.exempt == "automation is the automation's own identity"
    _untouched(clients, plan, "automation", "AKIAEXAMPLEAUTOMAT01")


def test_the_policys_break_glass_user_is_never_touched(clients):
    iam = clients.aws("iam")
    key = iam.create_access_key(UserName="break-glass")["AccessKey"]["AccessKeyId"]
    try:
        plan = PLAYBOOK.plan(_incident(key), clients)
        assert plan.exempt.startswith("break-glass is a break-glass user")
        _untouched(clients, plan, "break-glass", key)
    finally:
        iam.delete_access_key(UserName="break-glass", AccessKeyId=key)


@pytest.mark.parametrize("value", ["true", "yes", "True"])
def test_a_user_tagged_break_glass_is_never_touched(clients, iam_user, value):
    user, key = iam_user(tags={"break-glass": value})
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), clients)
    assert plan.exempt.startswith(f"{user} is a break-glass user")
    _untouched(clients, plan, user, key["AccessKeyId"])


def test_a_break_glass_tag_set_to_false_does_not_protect(clients, iam_user):
    _user, key = iam_user(tags={"break-glass": "false"})
    assert PLAYBOOK.plan(_incident(key["AccessKeyId"]), clients).changes


@pytest.mark.parametrize("value", ["off", "OFF", "false", "no"])
def test_a_user_tagged_auto_remediate_off_is_never_touched(clients, iam_user, value):
    user, key = iam_user(tags={"auto-remediate": value})
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), clients)
    assert plan.exempt == f"{user} is tagged auto-remediate={value}"
    _untouched(clients, plan, user, key["AccessKeyId"])


def test_an_allowlisted_key_is_never_touched(clients, iam_user):
    user, key = iam_user()
    policy = policy_with(
        allowlist=[{"playbook": PLAYBOOK.name, "resource": key["AccessKeyId"], "reason": "CI key"}]
    )
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), Clients(clients.settings, policy=policy))
    assert plan.exempt == f"{key['AccessKeyId']} is allowed by policy: CI key"
    _untouched(clients, plan, user, key["AccessKeyId"])


def test_an_allowlisted_user_covers_its_keys_until_the_entry_expires(clients, iam_user):
    user, key = iam_user()
    entry = {"playbook": PLAYBOOK.name, "resource": user, "reason": "vendor"}
    live = Clients(clients.settings, policy=policy_with(allowlist=[entry]))
    assert PLAYBOOK.plan(_incident(key["AccessKeyId"]), live).exempt.endswith("vendor")
    expired = policy_with(allowlist=[{**entry, "expires": "2001-02-03"}])
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), Clients(clients.settings, policy=expired))
    assert plan.exempt == "" and len(plan.changes) == 1


def test_an_allowlist_entry_for_another_playbook_does_not_cover(clients, iam_user):
    _user, key = iam_user()
    entry = {"playbook": "revoke-security-group-ingress", "resource": "*", "reason": "x"}
    other = Clients(clients.settings, policy=policy_with(allowlist=[entry]))
    assert PLAYBOOK.plan(_incident(key["AccessKeyId"]), other).changes


def test_an_inactive_key_has_nothing_to_do(clients, iam_user):
    user, key = iam_user()
    clients.aws("iam").update_access_key(
        UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive"
    )
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), clients)
    assert plan.changes == [] and plan.nothing_to_do.endswith("is already Inactive")
    assert PLAYBOOK.verify(_incident(key["AccessKeyId"]), clients).ok


def test_a_deleted_key_has_nothing_to_do(clients, iam_user):
    user, key = iam_user()
    clients.aws("iam").delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    plan = PLAYBOOK.plan(_incident(key["AccessKeyId"]), clients)
    assert plan.changes == []
    assert plan.nothing_to_do == f"access key {key['AccessKeyId']} no longer exists"
    assert not PLAYBOOK.verify(_incident(key["AccessKeyId"]), clients).ok


def test_a_resource_that_is_not_a_key_id_has_nothing_to_do(clients, iam_user):
    """iam-access-key-created-for-other-user falls back to the user name as its resource."""
    user, _ = iam_user()
    plan = PLAYBOOK.plan(Incident("iam-access-key-created-for-other-user", user, ACCOUNT), clients)
    assert plan.changes == [] and "not an access key id" in plan.nothing_to_do


def test_a_short_user_name_as_resource_does_not_crash_the_plan(clients):
    """boto3 refuses an AccessKeyId shorter than 16 characters before any call is made."""
    plan = PLAYBOOK.plan(
        Incident("iam-access-key-created-for-other-user", "developer", ACCOUNT), clients
    )
    assert plan.changes == [] and "not an access key id" in plan.nothing_to_do
    assert not PLAYBOOK.verify(Incident("x", "developer", ACCOUNT), clients).ok
