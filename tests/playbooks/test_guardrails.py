"""Guardrails (``helpers.playbooks.guardrails``): modes per playbook and world, the rate limit,
dry-run, allowlist expiry, the protected tag, and policy files that are refused with a
``PolicyError`` naming the setting."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.clients import Clients
from helpers.config import Settings
from helpers.playbooks import Plan
from helpers.playbooks.guardrails import Policy, PolicyError, decide
from helpers.playbooks.plan import Change
from tests.playbooks.conftest import PLAYBOOKS, policy_with


def _plan(playbook: str = "revoke-security-group-ingress") -> Plan:
    change = Change("ec2", "RevokeSecurityGroupIngress", {"GroupId": "sg-1"}, "revoke")
    return Plan(playbook, "sg-1", changes=[change])


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_the_repository_policy_modes(name):
    policy = Policy.load()
    expected_local = "approve" if name == "disable-access-key" else "auto"
    assert policy.mode_for(name, local=True) == expected_local
    assert policy.mode_for(name, local=False) == "approve"
    assert decide(policy, _plan(name), local=True).mode == expected_local
    decision = decide(policy, _plan(name), local=False)
    assert decision.mode == "approve" and "real account" in decision.reason


def test_a_policy_without_modes_trusts_locally_and_asks_in_a_real_account():
    policy = Policy.from_dict({})
    assert policy.mode_for("x", local=True) == "auto"
    assert policy.mode_for("x", local=False) == "approve"


def test_the_rate_limit_switches_auto_to_approve_and_says_so():
    policy = policy_with(rate_limit_per_hour={"default": 20, "re-enable-guardduty": 2})
    plan = _plan("re-enable-guardduty")
    assert decide(policy, plan, local=True, recent_actions=1).mode == "auto"
    decision = decide(policy, plan, local=True, recent_actions=2)
    assert decision.mode == "approve"
    assert decision.reason.startswith("rate limit reached (2 of 2 per hour)")
    other = decide(policy, _plan(), local=True, recent_actions=19)
    assert other.mode == "auto"  # the default limit is 20
    assert decide(policy, _plan(), local=True, recent_actions=20).mode == "approve"


def test_without_a_rate_limit_there_is_none():
    policy = policy_with(rate_limit_per_hour={})
    assert decide(policy, _plan(), local=True, recent_actions=10_000).mode == "auto"


def test_dry_run_mode_records_the_plan_and_acts_on_nothing():
    policy = policy_with(modes={"local": {"default": "dry-run"}, "real": {"default": "dry-run"}})
    for local in (True, False):
        decision = decide(policy, _plan(), local=local, recent_actions=100)
        assert decision.mode == "dry-run"  # never turned into approve or auto
        assert "dry-run" in decision.reason


def test_the_delay_travels_with_the_decision():
    policy = policy_with(delay_seconds={"default": 0, "block-s3-public-access": 30})
    assert decide(policy, _plan("block-s3-public-access"), local=True).delay == 30.0
    assert decide(policy, _plan(), local=True).delay == 0.0


def test_exempt_nothing_and_notify_plans_are_never_acted_on():
    policy = Policy.load()
    assert decide(policy, Plan("p", "r", exempt="tagged"), local=True).mode == "exempt"
    assert decide(policy, Plan("p", "r", nothing_to_do="gone"), local=True).mode == "nothing"
    assert decide(policy, Plan("p", "r", notify_only=True), local=True).mode == "notify"


def test_an_allowlist_entry_covers_until_its_expiry_day_and_not_after():
    policy = policy_with(
        allowlist=[
            {"playbook": "disable-access-key", "resource": "AKIA*", "reason": "CI",
             "expires": "2030-06-30"}
        ]
    )  # fmt: skip
    covered = dict(today=dt.date(2030, 6, 30))
    assert policy.allowed("disable-access-key", "AKIAEXAMPLE", **covered).reason == "CI"
    assert policy.allowed("disable-access-key", "AKIAEXAMPLE", today=dt.date(2030, 7, 1)) is None
    assert policy.allowed("disable-access-key", "ASIAEXAMPLE", **covered) is None  # the glob
    assert policy.allowed("block-s3-public-access", "AKIAEXAMPLE", **covered) is None


def test_allowlist_facets_must_all_match():
    policy = Policy.load()
    allowed = dict(port=443, group_name="web-sg")
    assert policy.allowed("revoke-security-group-ingress", "sg-9", **allowed) is not None
    assert (
        policy.allowed("revoke-security-group-ingress", "sg-9", port=22, group_name="web-sg")
        is None
    )
    assert policy.allowed("revoke-security-group-ingress", "sg-9", port="443-8443",
                          group_name="web-sg") is None  # fmt: skip
    assert policy.allowed("revoke-security-group-ingress", "sg-9", port=443) is None


@pytest.mark.parametrize(
    ("tags", "protected"),
    [
        ({"auto-remediate": "off"}, True),
        ({"auto-remediate": " No "}, True),
        ({"auto-remediate": "FALSE"}, True),
        ({"auto-remediate": "on"}, False),
        ({"team": "off"}, False),
        ([{"Key": "auto-remediate", "Value": "off"}], True),
        (None, False),
    ],
)
def test_the_protected_tag(tags, protected):
    assert Policy.load().protected(tags) is protected


def test_the_automation_policy_setting_overrides_the_file(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("modes:\n  local:\n    default: dry-run\n")
    clients = Clients(Settings(automation_policy=path))
    assert clients.policy.mode_for("anything", local=True) == "dry-run"
    assert clients.policy.source == str(path)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("modes:\n  local:\n    default: yolo\n", "modes.local.default: 'yolo' is not one of"),
        ("modes: [auto]\n", "modes must be a mapping"),
        ("modes:\n  staging: {default: auto}\n", "modes.staging"),
        ("allowlist:\n  - playbook: x\n", "allowlist[0] needs reason"),
        ("allowlist:\n  - reason: because\n", "allowlist[0] needs playbook"),
        ("allowlist:\n  - {playbook: x, reason: ''}\n", "allowlist[0] needs a reason"),
        ("allowlist:\n  - {playbook: x, reason: y, expires: next week}\n",
         "allowlist[0].expires: 'next week' is not a date"),
        ("allowlist:\n  - just a string\n", "allowlist[0] must be a mapping"),
        ("approval_expiry: soon\n", "approval_expiry 'soon' is not a duration"),
        ("rate_limit_per_hour:\n  default: lots\n", "rate_limit_per_hour.default: 'lots'"),
        ("rate_limit_per_hour:\n  default: -1\n", "rate_limit_per_hour.default: -1 is negative"),
        ("delay_seconds: 5\n", "delay_seconds must be a mapping"),
        ("protected_tag:\n  values: [off, no]\n", "protected_tag.values: False is a YAML boolean"),
        ("break_glass_users: break-glass\n", "break_glass_users must be a list"),
        ("rate_limit: {default: 5}\n", "unknown setting(s) rate_limit"),
        ("- a\n- list\n", "must be a mapping"),
        ("modes: {local: [\n", "is not valid YAML"),
    ],
    ids=lambda v: v if len(v) < 40 else None,
)  # fmt: skip
def test_invalid_policy_files_are_refused_naming_the_problem(tmp_path, text, names):
    path = tmp_path / "policy.yml"
    path.write_text(text)
    with pytest.raises(PolicyError) as refused:
        Policy.load(path)
    assert names in str(refused.value)


def test_a_missing_policy_file_names_the_setting(tmp_path):
    with pytest.raises(PolicyError, match="AUTOMATION_POLICY"):
        Policy.load(tmp_path / "absent.yml")
