"""Webhooks: admin API, Jira's payload shapes, signatures, JQL filters, retries, restarts."""

from __future__ import annotations

import json
import uuid

import pytest
from jira import JIRAError

from helpers.jira import verify_signature
from tests.jira.jiralab import Receiver, http, jira_process, wait_until

API = "/rest/webhooks/1.0/webhook"


def register(proc_or_env, body: dict) -> dict:
    url, auth = proc_or_env
    resp = http().post(url + API, json=body, auth=auth, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def world_jira(jira_env):
    return jira_env["JIRA_URL"], (jira_env["JIRA_USER"], jira_env["JIRA_TOKEN"])


def test_admin_api_round_trip(world_jira):
    url, auth = world_jira
    hook = register(
        world_jira,
        {
            "name": "round-trip",
            "url": "http://127.0.0.1:9/jira/${issue.key}",
            "events": ["jira:issue_created"],
            "filters": {"issue-related-events-section": "project = SEC"},
        },
    )
    assert hook["self"].startswith(url + API + "/")
    assert hook["enabled"] is True and hook["excludeBody"] is False
    assert any(h["self"] == hook["self"] for h in http().get(url + API, auth=auth).json())
    changed = http().put(hook["self"], json={"enabled": False}, auth=auth, timeout=10).json()
    assert changed["enabled"] is False and changed["name"] == "round-trip"
    assert http().delete(hook["self"], auth=auth, timeout=10).status_code == 204
    assert http().get(hook["self"], auth=auth, timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/", "events": ["jira:issue_created"]}, "name"),
        ({"name": "x", "url": "not a url", "events": ["jira:issue_created"]}, "url"),
        ({"name": "x", "url": "http://127.0.0.1:9/", "events": ["board_created"]}, "events"),
    ],
)
def test_admin_api_rejects_bad_registrations(world_jira, body, field):
    url, auth = world_jira
    resp = http().post(url + API, json=body, auth=auth, timeout=10)
    assert resp.status_code == 400
    assert field in resp.json()["errors"]


def test_admin_api_rejects_bad_jql_and_anonymous_callers(world_jira):
    url, auth = world_jira
    body = {
        "name": "x",
        "url": "http://127.0.0.1:9/",
        "events": ["jira:issue_created"],
        "filters": {"issue-related-events-section": "nope = 1"},
    }
    resp = http().post(url + API, json=body, auth=auth, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["errorMessages"][0].startswith("Field 'nope' does not exist")
    assert http().get(url + API, timeout=10).status_code == 401


def test_deliveries_in_jiras_shapes_signed_and_filtered(world_jira, client):
    label = f"hook-{uuid.uuid4().hex[:8]}"
    with Receiver() as receiver:
        hook = register(
            world_jira,
            {
                "name": "shapes",
                "url": receiver.url + "/jira/${issue.key}?project=${project.key}",
                "events": ["jira:issue_created", "jira:issue_updated", "comment_created"],
                "filters": {"issue-related-events-section": f"labels = {label}"},
                "secret": "s3cret",
            },
        )
        client.create_issue(project="SEC", summary="not for this hook", issuetype="Task")
        issue = client.create_issue(
            project="SEC", summary="Hooked", issuetype="Task", labels=[label]
        )
        created = receiver.wait()
        assert created.path == f"/jira/{issue.key}?project=SEC"  # the other ticket was filtered out
        body = created.body
        assert body["webhookEvent"] == "jira:issue_created"
        assert body["issue_event_type_name"] == "issue_created"
        assert body["issue"]["key"] == issue.key
        assert body["issue"]["fields"]["summary"] == "Hooked"
        assert body["user"]["name"] == "lab-automation"
        assert isinstance(body["timestamp"], int)
        signature = created.headers["X-Hub-Signature"]
        assert verify_signature(created.raw, signature, "s3cret")
        assert not verify_signature(created.raw, signature, "forged")

        client.transition_issue(issue, "Start Progress")
        moved = receiver.wait().body
        assert moved["webhookEvent"] == "jira:issue_updated"
        assert moved["issue_event_type_name"] == "issue_generic"
        assert moved["changelog"]["items"] == [
            {
                "field": "status",
                "fieldtype": "jira",
                "fieldId": "status",
                "from": "10000",
                "fromString": "To Do",
                "to": "3",
                "toString": "In Progress",
            }
        ]
        client.add_comment(issue, "looking")
        events = {}
        for _ in range(2):
            delivery = receiver.wait().body
            events[delivery["webhookEvent"]] = delivery
        assert events["comment_created"]["comment"]["body"] == "looking"
        assert events["comment_created"]["issue"]["key"] == issue.key
        assert events["jira:issue_updated"]["issue_event_type_name"] == "issue_commented"
        assert events["jira:issue_updated"]["comment"]["body"] == "looking"
    http().delete(hook["self"], auth=world_jira[1], timeout=10)


def test_receiver_down_then_delivered_when_it_returns(tmp_path):
    receiver = Receiver()  # not started yet: its port refuses connections
    with jira_process(tmp_path) as jira:
        register(
            (jira.url, ("lab-automation", jira.token)),
            {"name": "late", "url": receiver.url + "/late", "events": ["jira:issue_created"]},
        )
        issue = jira.client().create_issue(project="SEC", summary="while down", issuetype="Task")

        def failed_attempts():
            rows = jira.get("/_lab/webhook-deliveries").json()
            return rows and rows[0]["attempts"] >= 2 and rows[0]["state"] == "pending"

        wait_until(failed_attempts)
        with receiver:
            delivery = receiver.wait()
            assert delivery.body["issue"]["key"] == issue.key
            assert int(delivery.headers["X-Atlassian-Webhook-Retry"]) >= 2
        rows = wait_until(
            lambda: [
                r for r in jira.get("/_lab/webhook-deliveries").json() if r["state"] == "delivered"
            ]
        )
        assert len(rows) == 1


def test_pending_deliveries_survive_a_restart(tmp_path):
    receiver = Receiver()
    with jira_process(tmp_path) as jira:
        register(
            (jira.url, ("lab-automation", jira.token)),
            {"name": "restart", "url": receiver.url + "/r", "events": ["jira:issue_created"]},
        )
        issue = jira.client().create_issue(project="SEC", summary="before", issuetype="Task")
        wait_until(lambda: jira.get("/_lab/webhook-deliveries").json()[0]["attempts"] >= 1)
    with receiver, jira_process(tmp_path) as jira:
        assert receiver.wait().body["issue"]["key"] == issue.key


def test_excluded_body_and_unsigned_without_secret(world_jira, client):
    with Receiver() as receiver:
        hook = register(
            world_jira,
            {
                "name": "nobody",
                "url": receiver.url + "/n/${issue.id}",
                "events": ["jira:issue_deleted"],
                "excludeBody": True,
            },
        )
        issue = client.create_issue(project="SEC", summary="to delete", issuetype="Task")
        issue.delete()
        delivery = receiver.wait(lambda d: d.path == f"/n/{issue.id}")
        assert delivery.raw == b""
        assert "X-Hub-Signature" not in delivery.headers
    http().delete(hook["self"], auth=world_jira[1], timeout=10)


def test_webhook_api_via_the_clients_session(client):
    """Students use the authenticated session of the ``jira`` client (wire spec 2.8)."""
    url = client.server_url + API
    body = {"name": "session", "url": "http://127.0.0.1:9/", "events": ["comment_created"]}
    made = client._session.post(url, data=json.dumps(body)).json()
    assert made["name"] == "session"
    client._session.delete(made["self"])
    with pytest.raises(JIRAError):
        client._session.get(made["self"])


def test_server_errors_are_retried_and_client_errors_parked(tmp_path):
    with Receiver(status=503) as receiver, jira_process(tmp_path) as jira:
        register(
            (jira.url, ("lab-automation", jira.token)),
            {"name": "flaky", "url": receiver.url + "/f", "events": ["jira:issue_created"]},
        )
        client = jira.client()
        client.create_issue(project="SEC", summary="retried", issuetype="Task")
        receiver.wait()
        receiver.status = 204
        assert receiver.wait().body["issue"]["fields"]["summary"] == "retried"

        receiver.status = 400  # a receiver that refuses the payload is not retried
        client.create_issue(project="SEC", summary="parked", issuetype="Task")
        rows = wait_until(
            lambda: [
                r for r in jira.get("/_lab/webhook-deliveries").json() if r["state"] == "failed"
            ]
        )
        assert rows[0]["last_error"] == "HTTP 400" and rows[0]["attempts"] == 1
        page = http().get(jira.url + "/webhooks", timeout=10).text
        assert f"data-delivery-id='{rows[0]['id']}' data-state='failed'" in page

        receiver.status = 204  # fixed: a person sends the parked delivery again
        retry = f"/_lab/webhook-deliveries/{rows[0]['id']}/retry"
        session = http()
        assert session.post(jira.url + retry, timeout=10).status_code == 401
        auth = ("lab-automation", jira.token)
        assert session.post(jira.url + retry, auth=auth, timeout=10).status_code == 204
        assert receiver.wait().body["issue"]["fields"]["summary"] == "parked"
        assert session.post(jira.url + retry, auth=auth, timeout=10).status_code == 404
