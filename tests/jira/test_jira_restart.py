"""State survives a restart of the service: tickets, comments, links, webhooks, counters."""

from __future__ import annotations

from tests.jira.jiralab import jira_process


def test_tickets_are_kept_across_restarts(tmp_path):
    with jira_process(tmp_path) as jira:
        client = jira.client()
        first = client.create_issue(project="SEC", summary="kept", issuetype="Task", labels=["k"])
        client.add_comment(first, "still here")
        client.transition_issue(first, "Start Progress")
        client.add_simple_link(first.key, {"url": "https://example.com", "title": "ex"})
    with jira_process(tmp_path) as jira:
        client = jira.client()
        again = client.issue(first.key)
        assert again.fields.summary == "kept"
        assert again.fields.status.name == "In Progress"
        assert [c.body for c in client.comments(first.key)] == ["still here"]
        assert [r.object.title for r in client.remote_links(first.key)] == ["ex"]
        assert [i.key for i in client.search_issues("labels = k")] == [first.key]
        second = client.create_issue(project="SEC", summary="next", issuetype="Task")
        assert second.key != first.key  # the key counter is persisted too
