"""The web view: the board shows tickets by status; a ticket page shows fields and comments."""

from __future__ import annotations

import re

from tests.jira.jiralab import http


def test_board_and_ticket_page(jira_env, client):
    issue = client.create_issue(
        project="SEC", summary="Board <check>", issuetype="Task", labels=["board"]
    )
    client.transition_issue(issue, "Request Approval")
    client.add_comment(issue, "Please approve revoking 0.0.0.0/0 on sg-0123")
    client.add_simple_link(issue.key, {"url": "javascript:alert(1)", "title": "sneaky"})
    client.add_simple_link(issue.key, {"url": "https://example.com/runbook", "title": "Runbook"})
    base = jira_env["JIRA_URL"]

    home = http().get(base + "/", timeout=10)
    assert home.url.endswith("/board") and home.status_code == 200
    board = home.text
    card = re.search(rf"<article class='ticket' data-key='{issue.key}'[^>]*>", board)
    assert card and "data-status='Waiting for approval'" in card.group()
    column = board.split("data-status='Waiting for approval'>", 1)[1].split("</section>", 1)[0]
    assert f"data-key='{issue.key}'" in column
    assert "Board &lt;check&gt;" in board  # summaries are escaped
    assert "http-equiv='refresh'" not in board
    assert "content='5'" in http().get(base + "/board?refresh=5", timeout=10).text

    page = http().get(f"{base}/browse/{issue.key}", timeout=10)
    assert page.status_code == 200
    assert "<dd data-field='status'>Waiting for approval</dd>" in page.text
    assert "Please approve revoking 0.0.0.0/0 on sg-0123" in page.text
    assert "data-comment-id=" in page.text
    assert "href='https://example.com/runbook'" in page.text
    assert "javascript:" not in page.text  # only http(s) remote links become links
    assert http().get(f"{base}/browse/SEC-999999", timeout=10).status_code == 404
    assert http().get(f"{base}/webhooks", timeout=10).status_code == 200
