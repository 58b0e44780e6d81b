"""JQL semantics and Jira's error messages, run in-process against the lab's issue model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labstack.jira import jql
from labstack.jira.catalog import Catalog
from labstack.jira.config import Config
from labstack.jira.models import Jira, JiraError
from labstack.jira.render import format_time
from labstack.jira.store import Store


@pytest.fixture
def site(tmp_path) -> Jira:
    config = Config(base_url="http://127.0.0.1:1", project="SEC", user="lab", token="t")
    jira = Jira(Catalog(config), Store(tmp_path / "jira.sqlite3"))

    def make(summary, days_old=0, **fields):
        body = {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": summary}
        issue = jira.create({**body, **fields}, None, "lab")
        if days_old:
            issue["created"] = format_time(datetime.now(UTC) - timedelta(days=days_old))
            jira.store.save_issue(issue)
        return issue

    make(
        "Public S3 bucket lab-data",
        labels=["aws", "s3"],
        priority={"name": "High"},
        customfield_10050="s3_public:lab-data:123456789012",
        customfield_10051=7.5,
    )
    make(
        "CloudTrail logging stopped",
        days_old=3,
        labels=["aws", "cloudtrail"],
        priority={"name": "Highest"},
        assignee={"name": "alice"},
        description="Trail main was stopped by an attacker",
    )
    make(
        "Security group open to the world",
        days_old=10,
        priority={"name": "Low"},
        components=[{"name": "EC2"}],
        customfield_10051=3,
    )
    return jira


def keys(site: Jira, query: str, actor: str = "lab") -> list[str]:
    return [i["key"] for i in site.search(query, actor)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["SEC-3", "SEC-2", "SEC-1"]),
        ("project = SEC", ["SEC-3", "SEC-2", "SEC-1"]),
        ("key = SEC-2", ["SEC-2"]),
        ("issuekey in (SEC-1, SEC-3) ORDER BY key ASC", ["SEC-1", "SEC-3"]),
        ("labels = aws ORDER BY key", ["SEC-1", "SEC-2"]),
        ("labels in (s3, cloudtrail) ORDER BY key", ["SEC-1", "SEC-2"]),
        ("labels is EMPTY", ["SEC-3"]),
        ("labels != s3", ["SEC-2"]),  # != never matches an empty field
        ("labels not in (s3)", ["SEC-2"]),
        ("assignee = alice", ["SEC-2"]),
        ("assignee is EMPTY ORDER BY key", ["SEC-1", "SEC-3"]),
        ("assignee = currentUser()", []),
        ("reporter = currentUser() AND priority = High", ["SEC-1"]),
        ("priority in (High, Highest) ORDER BY priority DESC", ["SEC-2", "SEC-1"]),
        ("priority > Medium ORDER BY key", ["SEC-1", "SEC-2"]),
        ("summary ~ bucket", ["SEC-1"]),
        ('summary ~ "logging stop"', ["SEC-2"]),
        ('text ~ "attacker"', ["SEC-2"]),
        ('text ~ "123456789012"', ["SEC-1"]),
        ("summary !~ bucket ORDER BY key", ["SEC-2", "SEC-3"]),
        ('summary ~ "secur*"', ["SEC-3"]),
        ('"Dedup Key" ~ "\\"s3_public lab-data\\""', ["SEC-1"]),
        ("cf[10050] is not EMPTY", ["SEC-1"]),
        ('"risk score" >= 5', ["SEC-1"]),
        ("cf[10051] < 5", ["SEC-3"]),
        ("created >= -1d", ["SEC-1"]),
        ('created < "-2d" ORDER BY created ASC', ["SEC-3", "SEC-2"]),
        ("created > startOfDay(-5) ORDER BY key", ["SEC-1", "SEC-2"]),
        ("updated <= now() ORDER BY key", ["SEC-1", "SEC-2", "SEC-3"]),
        (
            'created >= "2020-01-01" AND created <= "2999/12/31 23:59" ORDER BY key',
            ["SEC-1", "SEC-2", "SEC-3"],
        ),
        ("status = 'To Do' AND statusCategory != Done ORDER BY key", ["SEC-1", "SEC-2", "SEC-3"]),
        ("resolution = Unresolved ORDER BY key", ["SEC-1", "SEC-2", "SEC-3"]),
        ("component = EC2", ["SEC-3"]),
        ("labels = aws AND NOT priority = High", ["SEC-2"]),
        ("labels = s3 OR assignee = alice ORDER BY key DESC", ["SEC-2", "SEC-1"]),
        ("(labels = s3 OR labels = cloudtrail) AND priority = Highest", ["SEC-2"]),
        ("labels = aws && !(priority = High)", ["SEC-2"]),
        ("type = Task ORDER BY created DESC, key ASC", ["SEC-1", "SEC-2", "SEC-3"]),
    ],
)
def test_queries(site, query, expected):
    assert keys(site, query) == expected


def test_transitions_change_what_status_queries_find(site):
    issue = site.get("SEC-1")
    site.transition(issue, {"transition": {"id": "41"}}, "lab")
    assert keys(site, 'status = "Waiting for approval"') == ["SEC-1"]
    site.transition(site.get("SEC-1"), {"transition": {"id": "51"}}, "lab")
    site.transition(site.get("SEC-1"), {"transition": {"id": "31"}}, "lab")
    assert keys(site, "statusCategory = Done AND resolution = Done") == ["SEC-1"]
    assert "SEC-1" not in keys(site, "resolution is EMPTY")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it."),
        ("cf[99999] ~ x", "Field 'cf[99999]' does not exist or you do not have permission"),
        ("summary = bucket", "The operator '=' is not supported by the 'summary' field."),
        ('"Dedup Key" = x', "The operator '=' is not supported by the 'Dedup Key' field."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("status = Bogus", "The value 'Bogus' does not exist for the field 'status'."),
        ("assignee = mallory", "The value 'mallory' does not exist for the field 'assignee'."),
        ("key = SEC-999", "An issue with key 'SEC-999' does not exist for field 'key'."),
        ("created > yesterday", "Date value 'yesterday' for field 'created' is invalid."),
        ("created > whenever()", "Unable to find JQL function 'whenever()'."),
        ("labels = aws ORDER BY text", "Not able to sort using field 'text'."),
        ("labels = aws ORDER BY nope", "Field 'nope' does not exist"),
        ("project =", "Error in the JQL Query: Expecting either a value, list or function"),
        ("project SEC", "Error in the JQL Query: Expecting operator but got 'SEC'."),
        ("project = SEC AND", "Error in the JQL Query: Expecting a field name at the end"),
        ("(project = SEC", "Error in the JQL Query: Expecting ')' before the end of the query."),
        ('summary ~ "open', "Error in the JQL Query: The quoted string 'open' has not been"),
        ("labels in (a, b", "Error in the JQL Query: Expecting ')' before the end of the query."),
        ("project = SEC labels = a", "Error in the JQL Query: Expecting either 'OR' or 'AND'"),
        ("labels is aws", "Error in the JQL Query: Expecting 'EMPTY' or 'NULL' but got 'aws'."),
        ("status was Done", "The history operator 'WAS' is not supported by the lab's Jira"),
    ],
)
def test_errors_are_jiras_400s(site, query, message):
    with pytest.raises(JiraError) as caught:
        site.search(query, "lab")
    assert caught.value.status == 400
    assert caught.value.body()["errorMessages"][0].startswith(message)
    assert caught.value.body()["errors"] == {}


def test_syntax_errors_say_where():
    with pytest.raises(jql.JqlError, match=r"\(line 1, character 9\)"):
        jql.compile_query("project SEC", jql.Context.empty())
