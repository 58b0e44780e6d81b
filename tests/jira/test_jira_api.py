"""The official ``jira`` client (Data Center mode) against the world's Jira, over HTTP."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from jira import JIRA, JIRAError

from tests.jira.jiralab import http


def tag() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_server_info_and_metadata(client):
    info = client.server_info()
    assert info["deploymentType"] == "Server"
    assert info["versionNumbers"][0] >= 9
    assert [p.key for p in client.projects()] == ["SEC"]
    project = client.project("SEC")
    assert {"Task", "Bug", "Incident"} <= {t.name for t in project.issueTypes}
    assert client.myself()["name"] == "lab-automation"
    names = {f["name"]: f for f in client.fields()}
    assert names["Dedup Key"]["clauseNames"] == ["Dedup Key", "cf[10050]"]
    assert {p.name for p in client.priorities()} >= {"Highest", "High", "Medium", "Low"}


def test_create_get_and_edit(client, new_issue):
    label = tag()
    issue = new_issue(
        summary="Public S3 bucket lab-data",
        description="Bucket lab-data is public",
        labels=["aws", label],
        priority={"name": "High"},
        components=[{"name": "S3"}],
        customfield_10050="s3_public:lab-data:123456789012",
        customfield_10051=7.5,
    )
    assert issue.key.startswith("SEC-")
    same = client.issue(issue.id)  # numeric id and key both work
    assert same.key == issue.key
    f = same.fields
    assert (f.summary, f.status.name, f.priority.name) == (
        "Public S3 bucket lab-data",
        "To Do",
        "High",
    )
    assert f.labels == ["aws", label]
    assert [c.name for c in f.components] == ["S3"]
    assert f.customfield_10050 == "s3_public:lab-data:123456789012"
    assert f.customfield_10051 == 7.5
    assert f.assignee is None and f.resolution is None
    assert f.reporter.name == "lab-automation"

    issue.update(summary="Public S3 bucket lab-data (confirmed)", labels=[{"add": "triaged"}])
    assert issue.fields.summary.endswith("(confirmed)")
    issue.add_field_value("labels", "s3")
    assert client.issue(issue.key).fields.labels == ["aws", label, "triaged", "s3"]
    history = client.issue(issue.key, expand="changelog").changelog.histories
    assert {item.field for h in history for item in h.items} >= {"summary", "labels"}


def test_bad_fields_get_jira_error_bodies(client):
    with pytest.raises(JIRAError) as caught:
        client.create_issue(project="SEC", issuetype={"name": "Task"}, summary="x", foo="bar")
    assert caught.value.status_code == 400
    assert "Field 'foo' cannot be set" in caught.value.text
    with pytest.raises(JIRAError) as caught:
        client.create_issue(project="SEC", issuetype={"name": "Epic"}, summary="x")
    assert "valid issue type is required" in caught.value.text
    with pytest.raises(JIRAError) as caught:
        client.create_issue(project="SEC", issuetype={"name": "Task"}, summary="")
    assert "You must specify a summary of the issue." in caught.value.text
    with pytest.raises(JIRAError) as caught:
        client.create_issue(
            project="SEC", issuetype={"name": "Task"}, summary="x", customfield_10051="high"
        )
    assert caught.value.response.json() == {
        "errorMessages": [],
        "errors": {"customfield_10051": "Operation value must be a number"},
    }
    with pytest.raises(JIRAError) as caught:
        client.create_issue(project="SEC", issuetype={"name": "Task"}, summary="two\nlines")
    assert "contains newline characters" in caught.value.text
    with pytest.raises(JIRAError) as caught:
        client.create_issue(
            project="SEC", issuetype={"name": "Task"}, summary="x", customfield_10050="k" * 256
        )
    assert "exceeds the allowed limit of 255 characters" in caught.value.text
    with pytest.raises(JIRAError) as caught:
        client.issue("SEC-999999")
    assert caught.value.status_code == 404
    assert caught.value.response.json()["errorMessages"] == ["Issue Does Not Exist"]


def test_search_with_jql(client, new_issue):
    label = tag()
    first = new_issue(
        summary="CloudTrail logging stopped", labels=[label], priority={"name": "Highest"}
    )
    second = new_issue(summary="Security group open", labels=[label], priority={"name": "Low"})
    found = client.search_issues(f"labels = {label} ORDER BY priority DESC")
    assert [i.key for i in found] == [first.key, second.key]
    assert found.total == 2
    assert [i.key for i in client.search_issues(f'labels = {label} AND summary ~ "logging"')] == [
        first.key
    ]
    raw = client.search_issues(f"labels = {label}", json_result=True, maxResults=1)
    assert (raw["total"], len(raw["issues"]), raw["maxResults"]) == (2, 1, 1)
    paged = client.search_issues(f"labels = {label}", maxResults=False)
    assert len(paged) == 2
    posted = client.search_issues(f"labels = {label} AND created >= -1d", use_post=True)
    assert len(posted) == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("nosuchfield = 1", "Field 'nosuchfield' does not exist"),
        ("project = SEC AND (", "Error in the JQL Query:"),
        ("summary = x", "The operator '=' is not supported by the 'summary' field."),
    ],
)
def test_bad_jql_is_a_400_with_jira_messages(client, query, message):
    with pytest.raises(JIRAError) as caught:
        client.search_issues(query)
    assert caught.value.status_code == 400
    body = caught.value.response.json()
    assert body["errorMessages"][0].startswith(message) and body["errors"] == {}


def test_comments(client, new_issue):
    issue = new_issue()
    comment = client.add_comment(issue, "First look: the bucket is public.")
    assert comment.id and comment.body.startswith("First look")
    assert comment.author.name == "lab-automation"
    client.add_comment(issue.key, "Second")
    assert [c.body for c in client.comments(issue.key)] == [comment.body, "Second"]
    comment.update(body="First look (edited)")
    assert client.comment(issue.key, comment.id).body == "First look (edited)"
    with pytest.raises(JIRAError) as caught:
        client.add_comment(issue, "")
    assert caught.value.status_code == 400


def test_workflow_with_approval(client, new_issue):
    issue = new_issue()
    names = {t["name"] for t in client.transitions(issue)}
    assert names == {"Start Progress", "Request Approval", "Done"}
    client.transition_issue(issue, "Request Approval", comment="needs a human")
    assert client.issue(issue.key).fields.status.name == "Waiting for approval"
    assert {t["name"] for t in client.transitions(issue)} == {"Approve", "Reject"}
    client.transition_issue(issue, "approve")  # names match case-insensitively
    client.transition_issue(issue, "31", resolution={"name": "Done"})  # numeric ids too
    done = client.issue(issue.key)
    assert (done.fields.status.name, done.fields.resolution.name) == ("Done", "Done")
    assert done.fields.status.statusCategory.key == "done"
    assert client.comments(issue.key)[-1].body == "needs a human"
    with pytest.raises(JIRAError) as caught:
        client.transition_issue(issue, "11")  # Start Progress is not offered from Done
    assert caught.value.status_code == 400
    client.transition_issue(issue, "Reopen")
    assert client.issue(issue.key).fields.resolution is None


def test_assignment_and_user_search(client, new_issue):
    issue = new_issue()
    users = client.search_users(user="ali")
    assert [u.name for u in users] == ["alice"]
    client.assign_issue(issue, "alice")
    assert client.issue(issue.key).fields.assignee.name == "alice"
    client.assign_issue(issue, None)
    assert client.issue(issue.key).fields.assignee is None
    with pytest.raises(JIRAError):
        client.assign_issue(issue, "mallory")
    with pytest.raises(JIRAError) as caught:
        issue.update(assignee={"name": "mallory"})
    assert "User 'mallory' does not exist." in caught.value.text


def test_issue_links_and_remote_links(client, new_issue):
    a, b = new_issue(summary="A"), new_issue(summary="B")
    assert client.create_issue_link("Relates", a.key, b.key).status_code == 201
    client.create_issue_link("duplicates", a.key, b.key)  # outward text resolves to the type
    links = client.issue(a.key).fields.issuelinks
    assert {x.type.name for x in links} == {"Relates", "Duplicate"}
    assert {x.outwardIssue.key for x in links if hasattr(x, "outwardIssue")} == {b.key}
    assert client.issue(b.key).fields.issuelinks[0].inwardIssue.key == a.key

    client.add_simple_link(a.key, {"url": "https://example.com/runbook", "title": "Runbook"})
    client.add_remote_link(
        a.key,
        {"url": "https://console.aws.amazon.com/s3", "title": "S3 console"},
        globalId="aws:s3:lab-data",
        relationship="resource",
    )
    remote = client.remote_links(a.key)
    assert [r.object.title for r in remote] == ["Runbook", "S3 console"]
    assert remote[1].globalId == "aws:s3:lab-data"


def test_delete(client, new_issue):
    issue = new_issue()
    issue.delete()
    with pytest.raises(JIRAError) as caught:
        client.issue(issue.key)
    assert caught.value.status_code == 404


def test_auth_basic_bearer_and_bad_tokens(jira_env):
    url, user, token = jira_env["JIRA_URL"], jira_env["JIRA_USER"], jira_env["JIRA_TOKEN"]
    assert JIRA(url, token_auth=token, max_retries=0).myself()["name"] == user
    for auth in ({"basic_auth": (user, "wrong")}, {"token_auth": "wrong"}):
        bad = JIRA(url, max_retries=0, **auth)  # serverInfo answers anonymously, like Jira
        with pytest.raises(JIRAError) as caught:
            bad.myself()
        assert caught.value.status_code == 401
        assert "You are not authenticated" in caught.value.text
    anonymous = http().get(url + "/rest/api/2/search", params={"jql": ""}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["errorMessages"][0].startswith("You are not authenticated")


def test_cookie_session_auth(jira_env):
    url, user, token = jira_env["JIRA_URL"], jira_env["JIRA_USER"], jira_env["JIRA_TOKEN"]
    session_client = JIRA(url, auth=(user, token), max_retries=0)
    assert session_client.myself()["name"] == user


def test_project_metadata_and_validate(jira_env):
    url, user, token = jira_env["JIRA_URL"], jira_env["JIRA_USER"], jira_env["JIRA_TOKEN"]
    client = JIRA(url, basic_auth=(user, token), max_retries=0, validate=True)
    assert "S3" in {c.name for c in client.project_components("SEC")}
    assert client.issue_type_by_name("Incident", project="SEC").name == "Incident"
    assert [s.name for s in client.statuses()] == [
        "To Do",
        "In Progress",
        "Waiting for approval",
        "Done",
    ]
    assert client.user("alice").displayName.startswith("Alice")


def test_parallel_creates_get_distinct_keys(client):
    label = tag()

    def create(n: int) -> str:
        return client.create_issue(
            project="SEC", summary=f"parallel {n}", issuetype="Task", labels=[label]
        ).key

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(create, range(16)))
    assert len(set(keys)) == 16
    assert len(client.search_issues(f"labels = {label}", maxResults=False)) == 16
