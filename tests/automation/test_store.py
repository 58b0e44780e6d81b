"""The incident store: one incident per dedup key, steps recorded, notes owed."""

from __future__ import annotations

import pytest

from helpers.automation.lifecycle import LifecycleError
from helpers.automation.store import Store
from helpers.incident import Incident


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "a.sqlite")
    yield s
    s.close()


def _incident(**extra) -> Incident:
    return Incident("security-group-open-to-world", "sg-1", "123456789012", severity="high",
                    evidence=[{"eventName": "AuthorizeSecurityGroupIngress"}], **extra)  # fmt: skip


def test_the_same_alert_twice_adds_nothing_and_a_new_one_is_seen_again(store):
    key = _incident().dedup_key
    assert store.receive(_incident(), sid="a").new
    again = store.receive(_incident(), sid="a")
    assert not again.new and not again.new_evidence
    later = store.receive(_incident(actor="mallory"), sid="b")
    assert later.new_evidence and not later.reopened
    row = store.get(key)
    assert row["seen"] == 2 and [s["step"] for s in row["timeline"]] == ["received", "seen-again"]
    assert len(store.incident(key).evidence) == 2


def test_sightings_older_than_a_week_are_forgotten(tmp_path):
    now = [1_800_000_000.0]
    store = Store(tmp_path / "a.sqlite", clock=lambda: now[0])
    store.receive(_incident(), sid="old")
    now[0] += 3 * 86400
    store.receive(_incident(actor="mallory"), sid="recent")
    now[0] += 5 * 86400  # "old" is 8 days old, "recent" 5
    assert store.prune_sightings() == 1
    assert store.prune_sightings() == 0
    assert not store.receive(_incident(actor="mallory"), sid="recent").new_evidence
    assert store.receive(_incident(), sid="old").new_evidence  # seen as a new sighting
    store.close()


def test_steps_follow_the_lifecycle_and_owe_notes(store):
    key = _incident().dedup_key
    store.receive(_incident(), sid="a")
    with pytest.raises(LifecycleError, match="cannot move from received to verified"):
        store.move(key, "verified", "no")
    store.set_ticket(key, "SEC-1", "http://jira/browse/SEC-1", created=True)
    store.set_thread(key, "C1", "1.0")
    store.move(key, "enriched", "facts")
    assert [n["text"] for n in store.pending_notes(key, "jira")] == ["facts"]
    assert store.pending_notes(key, "slack")[0]["data"] == {"state": "enriched"}
    note = store.pending_notes(key, "jira")[0]
    store.note_sent(note["id"])
    assert store.pending_notes(key, "jira") == []
    assert store.by_ticket("SEC-1") == key


def test_a_finished_incident_that_fires_again_is_reopened_on_its_ticket(store):
    key = _incident().dedup_key
    store.receive(_incident(), sid="a")
    store.set_ticket(key, "SEC-1", "u", created=True)
    for state in ("enriched", "planned", "remediating", "verified"):
        store.move(key, state, state)
    got = store.receive(_incident(), sid="b")
    assert got.reopened and got.state == "ticketed"
    notes = store.pending_notes(key, "jira")
    assert "reopened" in notes[-1]["text"] and notes[-1]["data"] == {"state": "ticketed"}


def test_a_higher_severity_raises_the_incident(store):
    key = _incident().dedup_key
    store.receive(_incident(), sid="a")
    store.receive(Incident("security-group-open-to-world", "sg-1", "123456789012",
                           severity="critical"), sid="b")  # fmt: skip
    assert store.get(key)["severity"] == "critical"


def test_signatures_are_used_once(store):
    assert store.first_use("v0=abc")
    assert not store.first_use("v0=abc")


def test_actions_and_rate_counts(store):
    key = _incident().dedup_key
    store.receive(_incident(), sid="a")
    action = store.add_action(key, "revoke-security-group-ingress", "auto", {"changes": []})
    assert store.actions_since("revoke-security-group-ingress", 0) == 0
    store.update_action(action, status="applied", result={"calls": []})
    assert store.actions_since("revoke-security-group-ingress", 0) == 1
    with pytest.raises(ValueError, match="unknown action fields: evil"):
        store.update_action(action, evil=1)
