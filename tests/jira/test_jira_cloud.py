"""The official client in Cloud mode: enhanced search, accountId users, GDPR-style errors."""

from __future__ import annotations

import pytest
from jira import JIRAError

from labstack.jira.catalog import SEEDED_USERS
from tests.jira.jiralab import Receiver, http


def test_cloud_server_info_switches_the_client(cloud_client):
    assert cloud_client.server_info()["deploymentType"] == "Cloud"
    assert cloud_client._is_cloud
    me = cloud_client.myself()
    assert me["accountId"].startswith("712020:") and "name" not in me


def test_enhanced_search_and_paging(cloud_client):
    keys = [
        cloud_client.create_issue(
            project="SEC", summary=f"Cloud {n}", issuetype="Task", labels=["paging"]
        ).key
        for n in range(3)
    ]
    found = cloud_client.search_issues("labels = paging ORDER BY key ASC")
    assert [i.key for i in found] == keys
    assert found[0].fields.summary == "Cloud 0"
    page = cloud_client.search_issues(
        "labels = paging ORDER BY key", maxResults=2, json_result=True
    )
    assert len(page["issues"]) == 2 and page["isLast"] is False and page["nextPageToken"]
    everything = cloud_client.search_issues("labels = paging", maxResults=False)
    assert len(everything) == 3
    with pytest.raises(JIRAError) as caught:
        cloud_client.search_issues("labels = paging AND nope = 1")
    assert caught.value.status_code == 400
    assert "Field 'nope' does not exist" in caught.value.text


def test_old_search_endpoint_is_gone_on_cloud(cloud):
    resp = cloud.get("/rest/api/2/search", params={"jql": ""})
    assert resp.status_code == 410


def test_users_by_account_id(cloud_client):
    issue = cloud_client.create_issue(project="SEC", summary="assign me", issuetype="Task")
    alice = next(u for u in SEEDED_USERS if u.name == "alice")
    cloud_client.assign_issue(
        issue, "alice"
    )  # the client searches with query= then sends accountId
    assignee = cloud_client.issue(issue.key).fields.assignee
    assert assignee.accountId == alice.account_id
    assert not hasattr(assignee, "name")
    with pytest.raises(JIRAError) as caught:
        issue.update(fields={"assignee": {"name": "alice"}})
    assert "GDPR" in caught.value.text
    issue.update(fields={"assignee": {"accountId": alice.account_id}})
    found = cloud_client.search_issues(f"assignee = '{alice.account_id}'")
    assert issue.key in [i.key for i in found]


def test_issue_operations_work_unchanged_on_cloud(cloud_client):
    a = cloud_client.create_issue(project="SEC", summary="A", issuetype={"name": "Task"})
    b = cloud_client.create_issue(project="SEC", summary="B", issuetype={"name": "Bug"})
    comment = cloud_client.add_comment(a, "first")
    assert comment.author.accountId and not hasattr(comment.author, "name")
    cloud_client.transition_issue(a, "Request Approval")
    cloud_client.transition_issue(a, "Approve")
    assert cloud_client.issue(a.key).fields.status.name == "In Progress"
    cloud_client.create_issue_link("Blocks", a.key, b.key)
    assert cloud_client.issue(b.key).fields.issuelinks[0].inwardIssue.key == a.key
    cloud_client.add_simple_link(a.key, {"url": "https://example.com", "title": "ex"})
    assert [r.object.url for r in cloud_client.remote_links(a.key)] == ["https://example.com"]
    a.update(summary="A2", labels=[{"add": "cloud"}])
    assert (a.fields.summary, a.fields.labels) == ("A2", ["cloud"])


def test_cloud_webhook_payloads_use_account_ids(cloud, cloud_client):
    with Receiver() as receiver:
        resp = http().post(
            cloud.url + "/rest/webhooks/1.0/webhook",
            json={"name": "c", "url": receiver.url, "events": ["jira:issue_created"]},
            auth=("lab-automation", cloud.token),
            timeout=10,
        )
        assert resp.status_code == 201
        cloud_client.create_issue(project="SEC", summary="cloud hook", issuetype="Task")
        body = receiver.wait().body
        assert body["user"]["accountId"].startswith("712020:") and "name" not in body["user"]
        assert body["issue"]["fields"]["reporter"]["accountId"] == body["user"]["accountId"]
        http().delete(resp.json()["self"], auth=("lab-automation", cloud.token), timeout=10)
