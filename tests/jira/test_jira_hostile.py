"""Hostile input (wrong JSON types, bad numbers, huge ids, deep JQL) is a 4xx in Jira's shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jira.jiralab import http

API = "/rest/api/2"
DEEP = "(" * 5000 + "project = SEC" + ")" * 5000

CASES = [
    ("POST", "/issue", {"fields": []}),
    ("POST", "/issue", {"fields": {"project": {"key": "SEC"}, "summary": 7, "issuetype": 1}}),
    ("POST", "/issue", {"fields": {"project": "SEC", "summary": "x", "issuetype": {"name": 1}}}),
    ("POST", "/issue", {"fields": {"project": {"key": []}, "summary": "x"}}),
    ("POST", "/issue", {"fields": {"project": {"key": "SEC"}, "labels": "a"}, "update": []}),
    ("POST", "/issue", {"fields": {"summary": "x"}, "update": {"labels": [{"add": {}}]}}),
    ("PUT", "/issue/{key}", {"fields": []}),
    ("PUT", "/issue/{key}", {"fields": {"labels": "a", "priority": 3, "assignee": []}}),
    ("PUT", "/issue/{key}", {"update": {"comment": [{"add": "x"}], "labels": [{"set": 1}]}}),
    ("POST", "/issue/{key}/transitions", {"transition": 1}),
    ("POST", "/issue/{key}/transitions", {"transition": {"id": []}, "fields": []}),
    ("POST", "/issue/{key}/comment", {"body": {"a": 1}}),
    ("PUT", "/issue/{key}/assignee", {"name": []}),
    ("POST", "/issue/{key}/remotelink", {"object": []}),
    ("POST", "/issueLink", {"type": "x", "inwardIssue": 1}),
    ("POST", "/search", {"jql": [], "startAt": "abc", "fields": 1}),
    ("POST", "/search", {"jql": DEEP}),
    ("GET", "/search?jql=created%20%3E%20-99999999d", None),
    ("GET", "/search?jql=created%20%3E%20-99999999999999999999999m", None),
    ("GET", "/search?jql=created%20%3E%20startOfDay(-99999999d)", None),
    ("GET", "/search?startAt=abc", None),
    ("GET", "/issue/{key}/comment?startAt=abc&maxResults=x", None),
    ("GET", "/user/search?username=a&startAt=abc", None),
    ("GET", "/issue/99999999999999999999", None),
    ("GET", "/issue/99999999999999999999/comment/99999999999999999999", None),
    ("GET", "/issueLink/99999999999999999999", None),
    ("GET", "/issue/{key}/remotelink/99999999999999999999", None),
    ("POST", "/rest/webhooks/1.0/webhook", {"name": [], "url": 1, "events": "x"}),
    ("POST", "/rest/webhooks/1.0/webhook", {"name": "a", "url": "http://x", "filters": []}),
]


@pytest.fixture(scope="module")
def jira(jira_env, client):
    session = http()
    session.auth = (jira_env["JIRA_USER"], jira_env["JIRA_TOKEN"])
    key = client.create_issue(project="SEC", summary="hostile", issuetype={"name": "Task"}).key
    return session, jira_env["JIRA_URL"], key


def send(jira, method, path, body):
    session, url, key = jira
    full = path.format(key=key)
    full = full if full.startswith("/rest/webhooks") else API + full
    return session.request(method, url + full, json=body, timeout=30)


@pytest.mark.parametrize(("method", "path", "body"), CASES)
def test_hostile_input_is_a_clean_4xx(jira, method, path, body):
    response = send(jira, method, path, body)
    assert 400 <= response.status_code < 500, response.text[:300]
    shape = response.json()
    assert isinstance(shape["errorMessages"], list) and isinstance(shape["errors"], dict)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
KEYS = st.sampled_from(["fields", "update", "transition", "summary", "labels", "jql", "body"])
BODIES = st.dictionaries(KEYS | st.text(max_size=8), JSON, max_size=5) | JSON
ENDPOINTS = st.sampled_from(
    [
        ("POST", "/issue"),
        ("PUT", "/issue/{key}"),
        ("POST", "/issue/{key}/transitions"),
        ("POST", "/issue/{key}/comment"),
        ("POST", "/issueLink"),
        ("POST", "/search"),
        ("GET", "/search"),
        ("GET", "/issue/{key}"),
        ("GET", "/issue/{key}/comment"),
    ]
)
PARAMS = st.dictionaries(
    st.sampled_from(["jql", "startAt", "maxResults", "fields", "expand"]), st.text(max_size=30)
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(endpoint=ENDPOINTS, body=BODIES, params=PARAMS)
def test_generated_hostile_requests_never_5xx(jira, endpoint, body, params):
    session, url, key = jira
    method, path = endpoint
    full = url + API + path.format(key=key)
    data = json.dumps(body)  # NaN and Infinity too, as a careless sender writes them
    headers = {"Content-Type": "application/json"}
    response = session.request(method, full, data=data, headers=headers, params=params, timeout=30)
    assert response.status_code < 500, response.text[:300]
    assert session.get(url + "/status", timeout=10).json() == {"state": "RUNNING"}
