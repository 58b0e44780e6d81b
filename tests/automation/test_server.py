"""The automation server over HTTP, with the official clients on the other side.

Every alert becomes one incident, one Jira ticket and one Slack thread; the same alert again
updates them; requests that are not who they say, or not what they should be, change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

import pytest

pytestmark = pytest.mark.stack


def _row(detection: str = "security-group-open-to-world", **extra) -> dict:
    resource = extra.pop("resource", f"sg-0{uuid.uuid4().hex[:16]}")
    row = {"detection": detection, "severity": "high", "playbook": "notify-only",
           "resource": resource, "account": "123456789012", "region": "us-east-1",
           "eventName": "AuthorizeSecurityGroupIngress"}  # fmt: skip
    row.update(extra)
    row.setdefault("dedup_key", f"{detection}:{resource}:123456789012")
    return row


def _tickets(wired, key: str) -> list:
    from helpers import jira

    client = wired.jira()
    issues = jira.search(f'project = SEC AND text ~ "{key.split(":")[1]}"', client=client)
    field = jira.field_id(client, wired.settings.jira_dedup_field)
    return [i for i in issues if getattr(i.fields, field, None) == jira.field_value(key)]


def _threads(wired, key: str) -> list[dict]:
    from helpers import slack

    client = slack.web_client(wired.settings)
    channel = slack.resolve_channel(client, wired.settings.slack_channel)
    history = client.conversations_history(channel=channel, include_all_metadata=True, limit=1000)
    return [
        m
        for m in history["messages"]
        if (m.get("metadata") or {}).get("event_payload", {}).get("dedup_key") == key
    ]


def test_an_alert_becomes_one_incident_ticket_and_thread_and_a_repeat_updates_them(wired):
    row = _row()
    key = row["dedup_key"]
    assert wired.post_alert(row, sid="rt_first").status_code == 202
    incident = wired.wait_state(key, "planned")  # notify-only: a person decides
    assert incident["ticket"] and incident["slack"]
    states = [s["state"] for s in incident["timeline"]]
    assert states[:2] == ["received", "received"] and "enriched" in states
    wired.post_alert(row, sid="rt_first")  # Splunk retrying the same delivery
    wired.post_alert(dict(row, actor="arn:aws:iam::123456789012:user/mallory"), sid="rt_again")
    again = wired.wait(lambda: (i := wired.incident(key))["seen"] == 2 and i, what="seen twice")
    assert again["ticket"] == incident["ticket"]
    [ticket] = _tickets(wired, key)
    assert ticket.key == incident["ticket"]
    comments = wired.jira().comments(ticket.key)
    wired.wait(lambda: any("fired again" in c.body for c in wired.jira().comments(ticket.key)),
               what="the seen-again comment")  # fmt: skip
    assert any("Enriched" in c.body for c in comments)
    assert len(_threads(wired, key)) == 1


def test_an_incident_nobody_owns_goes_to_the_security_team_and_says_why(wired):
    row = _row(account="000000000000")
    wired.post_alert(row, sid="rt_unowned")
    incident = wired.wait_state(row["dedup_key"], "planned")
    routed = next(s for s in incident["timeline"] if s["state"] == "enriched")
    assert "Routed to secops (unknown owner: no owner found" in routed["text"]
    assert routed["data"]["route"]["assignee"] == "carol"
    issue = wired.jira().issue(incident["ticket"])
    assert issue.fields.assignee.name == "carol"
    assert any("unknown owner" in c.body for c in wired.jira().comments(issue.key))


def test_a_wrong_splunk_token_is_refused_and_nothing_is_stored(wired):
    before = wired.queue()
    forged = wired.hook.rsplit("/", 1)[0] + "/not-the-token"
    resp = wired.http.post(forged, json={"sid": "x", "result": _row()}, timeout=10)
    assert resp.status_code == 403 and "token" in resp.json()["error"]
    assert wired.queue() == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"sid": 5, "result": {}}', 400),
        (b'{"sid": "x", "result": [1]}', 400),
        (b'{"sid": "x", "result": {"a": {"deep": 1}}}', 400),
        (b'{"sid": "x"}', 400),
        (b'{"sid": "x", "result": {"a": "' + b"x" * (1024 * 1024 + 10) + b'"}}', 413),
    ],
)
def test_malformed_oversized_and_mistyped_bodies_are_4xx_and_store_nothing(wired, body, status):
    before = wired.queue()
    resp = wired.http.post(
        wired.hook, data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert resp.status_code == status
    assert "error" in resp.json()
    assert wired.queue() == before


def _jira_post(wired, body: bytes, secret: str | None):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature"] = f"sha256={digest}"
    return wired.http.post(f"{wired.url}/jira/webhook", data=body, headers=headers, timeout=10)


def test_jira_webhooks_must_carry_the_right_signature(wired):
    body = json.dumps({"webhookEvent": "jira:issue_created", "issue": {"key": "SEC-99999"}})
    before = wired.queue()
    assert _jira_post(wired, body.encode(), None).status_code == 401
    assert _jira_post(wired, body.encode(), "wrong-secret").status_code == 401
    tampered = body.replace("SEC-99999", "SEC-1").encode()
    good = _jira_post(wired, body.encode(), wired.env["JIRA_WEBHOOK_SECRET"])
    assert good.status_code == 202
    signature = good.request.headers["X-Hub-Signature"]
    resp = wired.http.post(f"{wired.url}/jira/webhook", data=tampered, timeout=10,
                           headers={"X-Hub-Signature": signature})  # fmt: skip
    assert resp.status_code == 401
    assert wired.queue()["ready"] + wired.queue()["done"] >= before["ready"] + before["done"]


def _slack_post(wired, path: str, body: str, *, secret: str | None = None, age: float = 0):
    secret = secret or wired.env["SLACK_SIGNING_SECRET"]
    stamp = str(int(time.time() - age))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return wired.http.post(f"{wired.url}{path}", data=body, headers=headers, timeout=10)


def _click(key: str, action: str = "deny_remediation", user: str = "mallory") -> str:
    payload = {
        "type": "block_actions",
        "user": {"username": user},
        "actions": [{"action_id": action, "value": json.dumps({"dedup_key": key})}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})  # fmt: skip


def test_forged_stale_and_replayed_slack_requests_are_rejected_and_execute_nothing(wired):
    row = _row(playbook="disable-access-key", resource="AKIAEXAMPLEFORGED001",
               detection="access-key-used-from-unexpected-country")  # fmt: skip
    key = row["dedup_key"]
    wired.post_alert(row, sid="rt_forgery")
    # the key does not exist in IAM: nothing to do, so the incident ends on its own
    wired.wait_state(key, "dismissed", "verified", "exempt", "planned", "waiting_for_approval")
    body = _click(key)
    before = wired.incident(key)["timeline"]
    assert _slack_post(wired, "/slack/actions", body, secret="not-the-secret").status_code == 401
    assert _slack_post(wired, "/slack/actions", body, age=600).status_code == 401
    unsigned = wired.http.post(f"{wired.url}/slack/actions", data=body, timeout=10)
    assert unsigned.status_code == 401
    first = _slack_post(wired, "/slack/actions", body)
    assert first.status_code == 200
    replay = wired.http.post(f"{wired.url}/slack/actions", data=body, timeout=10,
                             headers=dict(first.request.headers))  # fmt: skip
    assert replay.status_code == 401 and "replay" in replay.json()["error"]
    time.sleep(1)
    assert [s["text"] for s in wired.incident(key)["timeline"]][: len(before)] == [
        s["text"] for s in before
    ]
    denials = [s for s in wired.incident(key)["timeline"] if "Denied" in s["text"]]
    assert len(denials) <= 1  # the one genuine click, at most; never the forgeries


def test_the_secbot_command_answers_status_for_a_ticket(wired):
    row = _row()
    wired.post_alert(row, sid="rt_command")
    incident = wired.wait_state(row["dedup_key"], "planned")
    body = urllib.parse.urlencode(
        {"command": "/secbot", "text": f"status {incident['ticket']}", "user_name": "alice"}
    )
    resp = _slack_post(wired, "/slack/commands", body)
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["response_type"] == "ephemeral"
    assert incident["ticket"] in answer["text"] and "planned" in answer["text"]
    bad = _slack_post(
        wired, "/slack/commands", urllib.parse.urlencode({"command": "/secbot", "text": "reboot"})
    )
    assert bad.status_code == 400 and "unknown subcommand" in bad.json()["error"]  # fmt: skip


def test_the_api_describes_itself_and_validates_its_parameters(wired):
    doc = wired.http.get(f"{wired.url}/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.") and "/splunk/webhook/{token}" in doc["paths"]
    bad = wired.http.get(f"{wired.url}/api/incidents", params={"state": "lost"}, timeout=10)
    assert bad.status_code == 400 and "unknown state" in bad.json()["error"]
    missing = wired.http.get(f"{wired.url}/api/incidents/no:such:key", timeout=10)
    assert missing.status_code == 404
    replay = wired.http.post(f"{wired.url}/api/dead-letters/1/replay", timeout=10)
    assert replay.status_code == 401


def test_secbot_sweep_finds_a_world_open_group_and_the_automation_closes_it(wired):
    from helpers import splunk
    from helpers.aws import session

    detection = splunk.connect(wired.settings).saved_searches["security-group-open-to-world"]
    detection.disable()  # only the sweep may find this one
    ec2 = session(wired.settings).client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName=f"sweep-{uuid.uuid4().hex[:6]}",
                                      Description="sweep test", VpcId=vpc)["GroupId"]  # fmt: skip
    try:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])  # fmt: skip
        body = urllib.parse.urlencode({"command": "/secbot", "text": "sweep", "user_name": "alice"})
        resp = _slack_post(wired, "/slack/commands", body)
        assert resp.status_code == 200 and "sweep" in resp.json()["text"]
        key = f"security-group-open-to-world:{group}:123456789012"
        incident = wired.wait_state(key, "verified", "failed", timeout=60)
        assert incident["state"] == "verified"
        assert any(s["text"].startswith("From a sweep") for s in incident["timeline"])
        [sg] = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
        assert sg["IpPermissions"] == []
    finally:
        detection.enable()
        ec2.delete_security_group(GroupId=group)
