"""The whole story on the wired local world, with nobody touching anything but the attacker.

attack (boto3) -> CloudTrail -> SQS -> ingest -> Splunk real-time detection -> webhook ->
automation -> Jira ticket + Slack thread -> Jira calls back -> enrich -> plan -> guardrails ->
remediate -> verify, every step on the ticket and in the thread.
"""

from __future__ import annotations

import pytest

from helpers import simulate

pytestmark = pytest.mark.stack

COUNTRY = "access-key-used-from-unexpected-country"


def rewire(wired) -> None:
    """Re-create the alerts (their throttles start afresh), as ``lab demo`` does."""
    from labstack.cli.wiring import wire

    wire(wired.settings, fresh_alerts=True)


def _key_incident(wired, detection: str) -> dict:
    return wired.wait(
        lambda: next((i for i in wired.incidents() if i["detection"] == detection), None),
        timeout=30,
        what=f"an incident of {detection}",
    )


def test_sg_open_world_is_closed_by_the_automation_and_a_repeat_updates_the_same_incident(wired):
    result = simulate.run("sg-open-world", wired.settings)
    group = result.resources["group_id"]
    key = f"security-group-open-to-world:{group}:123456789012"
    incident = wired.wait_state(key, "verified", "failed", timeout=45)
    assert incident["state"] == "verified", incident["timeline"]
    ec2 = simulate.context(wired.settings).admin.client("ec2")
    [sg] = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert not [p for p in sg["IpPermissions"] if p.get("FromPort") == 3389]  # closed for real
    [action] = incident["actions"]
    assert action["mode"] == "auto" and action["verified"] is True
    assert "authorize_security_group_ingress" in " ".join(action["rollback"]["commands"])
    comments = [c.body for c in wired.jira().comments(incident["ticket"])]
    assert any(c.startswith("Plan (") for c in comments)
    assert any(c.startswith("Verified") for c in comments)
    issue = wired.jira().issue(incident["ticket"])
    assert issue.fields.status.name == "Done"
    # delegated to the group's owner (its team tag): component, assignee, the team's channel
    assert [c.name for c in issue.fields.components] == ["Payments"]
    assert issue.fields.assignee.name == "bob"
    assert any("Routed to payments (team from resource-tags)" in s["text"]
               for s in incident["timeline"])  # fmt: skip
    assert _team_message(wired, "#team-payments", incident["ticket"]).startswith("@bob (on-call)")

    rewire(wired)  # the detection's 1-minute throttle would hold a repeat this soon
    simulate.run("sg-open-world", wired.settings)  # a second attack on the same group
    again = wired.wait(
        lambda: (i := wired.incident(key))["seen"] >= 2 and i["state"] == "verified" and i,
        timeout=45,
        what="the same incident verified again",
    )
    assert again["ticket"] == incident["ticket"] and again["slack"] == incident["slack"]
    assert len(again["actions"]) == 2
    assert "reopened" in " ".join(s["text"] for s in again["timeline"])


def _team_message(wired, channel: str, ticket: str) -> str:
    from helpers import slack

    client = slack.web_client(wired.settings)
    history = client.conversations_history(channel=slack.resolve_channel(client, channel))
    return next(m["text"] for m in history["messages"] if ticket in m["text"])


def _approval_message(wired, incident: dict):
    """The newest approval request (buttons) in the incident's thread; the state moves to
    waiting_for_approval just before the request is posted, so this waits for it."""
    from helpers import slack

    client = slack.web_client(wired.settings)
    thread = incident["slack"]

    asked = max(s["at"] for s in incident["timeline"] if s["step"] == "approval-requested")

    def asks():
        replies = client.conversations_replies(channel=thread["channel"], ts=thread["ts"])
        return [m for m in replies["messages"] if float(m["ts"]) >= asked - 1
                and any(b["type"] == "actions" for b in m.get("blocks", []))]  # fmt: skip

    found = wired.wait(asks, timeout=20, what="the approval request in the thread")
    return slack.Notification(thread["channel"], found[-1]["ts"], thread["ts"], False)


def test_a_key_used_from_abroad_waits_for_approval_and_approve_disables_exactly_it(wired):
    from helpers import slack

    simulate.run("key-from-abroad", wired.settings)
    incident = _key_incident(wired, COUNTRY)
    incident = wired.wait_state(incident["dedup_key"], "waiting_for_approval")
    assert incident["resource"] == "AKIAIOSFODNN7EXAMPLE"
    assert wired.jira().issue(incident["ticket"]).fields.status.name == "Waiting for approval"
    iam = simulate.context(wired.settings).admin.client("iam")
    statuses = {
        k["AccessKeyId"]: k["Status"]
        for user in ("developer", "student-admin", "automation")
        for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    }
    slack.click_button(_approval_message(wired, incident), slack.ACTION_APPROVE, user="alice",
                       settings=wired.settings)  # fmt: skip
    done = wired.wait_state(incident["dedup_key"], "verified", "failed")
    assert done["state"] == "verified"
    assert done["actions"][-1]["approved_by"] == "alice"
    after = {
        k["AccessKeyId"]: k["Status"]
        for user in ("developer", "student-admin", "automation")
        for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    }
    assert after.pop("AKIAIOSFODNN7EXAMPLE") == "Inactive"  # disabled, not deleted
    statuses.pop("AKIAIOSFODNN7EXAMPLE")
    assert after == statuses  # nothing else touched

    # lab rollback: the recorded rollback re-activates it, and says so on the ticket
    resp = wired.http.post(
        f"{wired.url}/api/incidents/{incident['dedup_key']}/rollback",
        headers={"Authorization": f"Bearer {wired.env['AUTOMATION_TOKEN']}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    keys = iam.list_access_keys(UserName="developer")["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys}["AKIAIOSFODNN7EXAMPLE"] == "Active"
    assert wired.incident(incident["dedup_key"])["state"] == "dismissed"


def test_deny_leaves_the_key_alone_and_dismisses_the_incident(wired):
    from helpers import slack

    rewire(wired)
    simulate.run("key-from-abroad", wired.settings)  # reopens the incident: approval again
    incident = wired.wait(
        lambda: next((i for i in wired.incidents(state="waiting_for_approval")
                      if i["detection"] == COUNTRY), None),
        timeout=45,
        what="the key incident waiting for approval again",
    )  # fmt: skip
    incident = wired.incident(incident["dedup_key"])
    slack.click_button(_approval_message(wired, incident), slack.ACTION_DENY, user="bob",
                       settings=wired.settings)  # fmt: skip
    done = wired.wait_state(incident["dedup_key"], "dismissed")
    assert "Denied by bob" in done["timeline"][-1]["text"] or any(
        "Denied by bob" in s["text"] for s in done["timeline"]
    )
    iam = simulate.context(wired.settings).admin.client("iam")
    keys = iam.list_access_keys(UserName="developer")["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys}["AKIAIOSFODNN7EXAMPLE"] == "Active"
