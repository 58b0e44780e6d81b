"""The engine's decisions, with a playbook of the test's own and no Jira or Slack configured.

Modes (auto, approve, dry-run), the rate limit, exempt and nothing-to-do plans, a failing apply,
approval expiry: each ends in the state the lifecycle promises, and dry-run changes nothing.
"""

from __future__ import annotations

import time

import pytest

from helpers.automation.engine import Automation
from helpers.automation.store import Store
from helpers.clients import Clients
from helpers.config import Settings
from helpers.playbooks import PLAYBOOKS, Change, Plan, Playbook, Verification
from helpers.playbooks.guardrails import Policy
from helpers.runtime.queue import Queue

NAME = "test-playbook"


class FakePlaybook(Playbook):
    """A playbook that records what it was asked to do.

    >>> FakePlaybook().name
    'test-playbook'
    """

    name = NAME
    permissions = ("ec2:DescribeSecurityGroups",)

    def __init__(self):
        self.applied: list[Plan] = []
        self.fixed = False
        self.exempt = ""
        self.nothing = ""
        self.fail_apply = False

    def plan(self, incident, clients):
        plan = Plan(NAME, incident.resource, exempt=self.exempt, nothing_to_do=self.nothing)
        if not (self.exempt or self.nothing or self.fixed):
            change = Change("ec2", "RevokeSecurityGroupIngress", {"GroupId": incident.resource},
                            "revoke")  # fmt: skip
            plan.changes.append(change)
        return plan

    def apply(self, plan, clients):
        if self.fail_apply:
            raise RuntimeError("AccessDenied")
        self.applied.append(plan)
        self.fixed = True
        return {"calls": [c.command() for c in plan.changes]}

    def verify(self, incident, clients):
        return Verification(self.fixed, "fixed" if self.fixed else "still open")


@pytest.fixture
def book(monkeypatch):
    fake = FakePlaybook()
    monkeypatch.setitem(PLAYBOOKS._items, NAME, fake)
    return fake


def _engine(tmp_path, modes: dict, **policy) -> Automation:
    doc = {"modes": {"local": modes, "real": {"default": "approve"}},
           "rate_limit_per_hour": policy.pop("rate", {"default": 20}), **policy}  # fmt: skip
    clients = Clients(Settings(_env_file=None), policy=Policy.from_dict(doc))
    engine = Automation(
        Store(tmp_path / "a.sqlite"),
        Queue(tmp_path / "q.sqlite", "inbox"),
        clients=clients,
        respond_on="alert",  # no Jira to call back: answer at once
        local=True,
    )
    return engine


def _alert(resource: str = "sg-1") -> dict:
    row = {"detection": "test-detection", "resource": resource, "account": "123456789012",
           "severity": "high", "playbook": NAME}  # fmt: skip
    return {"kind": "alert", "source": "splunk-webhook", "sid": f"sid-{resource}", "rows": [row]}


def _key(resource: str = "sg-1") -> str:
    return f"test-detection:{resource}:123456789012"


@pytest.fixture(autouse=True)
def _no_enrichers(monkeypatch):
    from helpers import enrich

    monkeypatch.setattr(enrich, "enrich", lambda incident, clients=None, **_: {})


def test_auto_applies_and_verifies(tmp_path, book):
    engine = _engine(tmp_path, {"default": "auto"})
    engine.process(_alert())
    row = engine.store.get(_key())
    assert row["state"] == "verified" and len(book.applied) == 1
    [action] = row["actions"]
    assert (action["mode"], action["status"], action["verified"]) == ("auto", "verified", True)


def test_dry_run_records_the_plan_and_changes_nothing(tmp_path, book):
    engine = _engine(tmp_path, {"default": "dry-run"})
    engine.process(_alert())
    row = engine.store.get(_key())
    assert row["state"] == "planned" and book.applied == []
    [action] = row["actions"]
    assert action["status"] == "dry-run" and action["plan"]["changes"][0]["operation"] == (
        "RevokeSecurityGroupIngress"
    )


def test_approve_waits_then_approval_applies_and_deny_dismisses(tmp_path, book):
    engine = _engine(tmp_path, {"default": "approve"})
    engine.process(_alert("sg-1"))
    engine.process(_alert("sg-2"))
    assert engine.store.get(_key("sg-1"))["state"] == "waiting_for_approval"
    assert book.applied == []
    engine.process(
        {
            "kind": "slack-action",
            "action_id": "approve_remediation",
            "dedup_key": _key("sg-1"),
            "user": "alice",
            "response_url": None,
        }
    )
    engine.process({"kind": "slack-action", "action_id": "deny_remediation",
                    "dedup_key": _key("sg-2"), "user": "bob", "response_url": None})  # fmt: skip
    assert engine.store.get(_key("sg-1"))["state"] == "verified"
    assert engine.store.get(_key("sg-1"))["actions"][-1]["approved_by"] == "alice"
    assert engine.store.get(_key("sg-2"))["state"] == "dismissed"
    assert len(book.applied) == 1


def test_the_rate_limit_switches_auto_to_approve_and_says_so(tmp_path, book):
    engine = _engine(tmp_path, {"default": "auto"}, rate={"default": 1})
    engine.process(_alert("sg-1"))
    book.fixed = False
    engine.process(_alert("sg-2"))
    second = engine.store.get(_key("sg-2"))
    assert second["state"] == "waiting_for_approval"
    assert any("rate limit reached (1 of 1 per hour)" in s["text"] for s in second["timeline"])


def test_an_exempt_plan_ends_exempt_and_a_fixed_resource_ends_verified(tmp_path, book):
    engine = _engine(tmp_path, {"default": "auto"})
    book.exempt = "sg-1 is tagged auto-remediate=off"
    engine.process(_alert("sg-1"))
    row = engine.store.get(_key("sg-1"))
    assert row["state"] == "exempt" and "auto-remediate=off" in row["timeline"][-1]["text"]
    book.exempt, book.nothing, book.fixed = "", "already closed", True
    engine.process(_alert("sg-2"))
    assert engine.store.get(_key("sg-2"))["state"] == "verified"
    book.fixed = False
    book.nothing = "security group sg-3 no longer exists"
    engine.process(_alert("sg-3"))
    gone = engine.store.get(_key("sg-3"))
    assert gone["state"] == "dismissed" and "Nothing to do" in gone["timeline"][-1]["text"]
    assert book.applied == []


def test_a_policy_delay_holds_no_worker_and_applies_when_the_delay_is_over(tmp_path, book):
    engine = _engine(tmp_path, {"default": "auto"}, delay_seconds={"default": 30})
    now = [1000.0]
    engine.clock = engine.inbox.clock = lambda: now[0]
    engine.process(_alert())
    row = engine.store.get(_key())
    assert row["state"] == "remediating" and book.applied == []
    assert "Remediating in 30s" in row["timeline"][-1]["text"]
    assert engine.inbox.claim() == []  # nothing to do until the delay is over
    now[0] += 30
    [later] = engine.inbox.claim()
    engine.handle(later)
    assert engine.store.get(_key())["state"] == "verified" and len(book.applied) == 1


def test_a_failing_apply_ends_failed_with_the_error(tmp_path, book):
    engine = _engine(tmp_path, {"default": "auto"})
    book.fail_apply = True
    engine.process(_alert())
    row = engine.store.get(_key())
    assert row["state"] == "failed" and "AccessDenied" in row["timeline"][-1]["text"]


def test_an_unanswered_approval_expires(tmp_path, book):
    engine = _engine(tmp_path, {"default": "approve"}, approval_expiry="1s")
    engine.process(_alert())
    engine.clock = lambda: 1e12  # long after
    assert engine.expire_approvals() == [_key()]
    row = engine.store.get(_key())
    assert row["state"] == "dismissed" and "expired" in row["timeline"][-1]["text"]
    assert book.applied == []


def test_a_repeat_after_the_fix_reopens_and_fixes_again(tmp_path, book):
    engine = _engine(tmp_path, {"default": "auto"})
    engine.process(_alert())
    book.fixed = False  # the attacker opened it again
    engine.process({**_alert(), "sid": "sid-again"})
    row = engine.store.get(_key())
    assert row["state"] == "verified" and len(row["actions"]) == 2 and len(book.applied) == 2


def test_a_jira_callback_that_never_comes_does_not_hold_the_incident(tmp_path, book):
    """The webhook was registered after the ticket was made (or Jira lost it): past the grace,
    a repeat alert and the periodic upkeep respond without it."""
    engine = _engine(tmp_path, {"default": "auto"})
    engine.respond_on = "jira"
    now = [time.time()]
    engine.clock = engine.store.clock = lambda: now[0]
    engine.process(_alert("sg-1"))
    engine.process(_alert("sg-2"))
    assert engine.store.get(_key("sg-1"))["state"] == "ticketed"  # waiting for Jira
    assert engine.respond_overdue() == []  # within the grace: nothing yet
    now[0] += engine.jira_grace + 1
    engine.process({**_alert("sg-1"), "sid": "sid-again"})  # the same attack, alerting again
    row = engine.store.get(_key("sg-1"))
    assert row["state"] == "verified"
    assert any(s["step"] == "jira-overdue" for s in row["timeline"])
    assert engine.respond_overdue() == [_key("sg-2")]  # the upkeep finds the other one
    assert engine.store.get(_key("sg-2"))["state"] == "verified"
