"""helpers.jira against the world's Jira (Data Center mode) and a Cloud-mode process."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import jira as helper
from helpers.config import MissingSetting, Settings
from helpers.receivers import JiraWebhookReceiver, jira_event
from tests.jira.jiralab import http


def incident(**extra) -> dict:
    base = {
        "detection": "s3_bucket_public",
        "title": "S3 bucket made public",
        "severity": "high",
        "resource": f"lab-data-{uuid.uuid4().hex[:6]}",
        "account": "123456789012",
        "actor": "arn:aws:iam::123456789012:user/mallory",
        "source_ip": "203.0.113.7",
        "region": "us-east-1",
        "event_time": "2024-01-01T00:00:00Z",
        "evidence": [{"eventName": "PutBucketAcl", "sourceIPAddress": "203.0.113.7"}],
    }
    return {**base, **extra}


@pytest.fixture
def jira(lab_world):
    return helper.connect(max_retries=0)


def test_same_incident_twice_is_one_ticket_with_a_comment(jira):
    alert = incident()
    first = helper.open_or_update_incident(alert, client=jira)
    second = helper.open_or_update_incident(alert, client=jira)
    assert first.created and not second.created
    assert second.key == first.key
    assert first.url.endswith(f"/browse/{first.key}")
    key = helper.dedup_key(alert)
    assert (
        len(
            [
                i
                for i in helper.search("project = SEC", jira, 500)
                if i.fields.customfield_10050 == key
            ]
        )
        == 1
    )
    comments = jira.comments(first.key)
    assert len(comments) == 1 and "fired again" in comments[0].body

    issue = jira.issue(first.key)
    f = issue.fields
    assert f.summary == f"S3 bucket made public ({alert['resource']})"
    assert f.priority.name == "High"
    assert f.labels == ["security-incident", "s3_bucket_public"]
    assert f.customfield_10050 == key
    assert f.customfield_10052 == "s3_bucket_public"  # the site has a "Detection" field
    assert f.customfield_10053 == "123456789012"
    assert "PutBucketAcl" in f.description and "203.0.113.7" in f.description


def test_a_recently_resolved_ticket_is_reopened_not_duplicated(jira):
    """As the automation server reopens its incident, so does a caller with no memory of the
    ticket (the Lambda): the same ticket goes back to To Do with a comment."""
    alert = incident(severity="critical")
    first = helper.open_or_update_incident(alert, client=jira)
    assert first.issue.fields.priority.name == "Highest"
    assert helper.transition(first.key, "Done", client=jira) == "Done"
    again = helper.open_or_update_incident(alert, client=jira)
    assert not again.created and again.key == first.key
    assert jira.issue(first.key).fields.status.name == "To Do"
    assert "the ticket is reopened" in jira.comments(first.key)[-1].body
    # Open again, it is simply found (and commented on), as any open ticket.
    assert helper.open_or_update_incident(alert, client=jira).key == first.key


def test_with_no_reopen_window_a_resolved_ticket_is_not_reused(jira):
    alert = incident(severity="critical")
    settings = Settings(jira_reopen_days=0)
    first = helper.open_or_update_incident(alert, client=jira, settings=settings)
    helper.transition(first.key, "Done", client=jira)
    again = helper.open_or_update_incident(alert, client=jira, settings=settings)
    assert again.created and again.key != first.key


def test_a_negative_reopen_window_is_refused():
    with pytest.raises(ValueError, match="jira_reopen_days"):
        Settings(jira_reopen_days=-1)


def test_similar_keys_do_not_collide(jira):
    base = incident()
    other = dict(base, resource=base["resource"] + "-logs")
    a = helper.open_or_update_incident(base, client=jira)
    b = helper.open_or_update_incident(other, client=jira)
    assert a.key != b.key and b.created


def test_transition_comment_and_assign(jira):
    ticket = helper.open_or_update_incident(incident(), client=jira)
    assert helper.transition(ticket, "Request Approval", client=jira) == "Waiting for approval"
    assert helper.transition(ticket.key, "in progress", client=jira) == "In Progress"
    with pytest.raises(helper.JiraHelperError, match="offers: Stop Progress"):
        helper.transition(ticket.key, "Teleport", client=jira)
    helper.comment(ticket, "Ingress revoked by playbook", client=jira)
    assert jira.comments(ticket.key)[-1].body == "Ingress revoked by playbook"
    assert helper.assign_to_team(ticket, "platform", client=jira) == "alice"  # JIRA_TEAM_OWNERS
    assert jira.issue(ticket.key).fields.assignee.name == "alice"
    with pytest.raises(helper.JiraHelperError, match="team 'finance' has no owner"):
        helper.assign_to_team(ticket, "finance", client=jira)


def test_webhook_registration_is_idempotent(jira):
    url = "http://127.0.0.1:9/jira"
    first = helper.register_webhook(url, jql="project = SEC", secret="x", client=jira)
    second = helper.register_webhook(url, jql="project = SEC", client=jira)
    assert first["self"] == second["self"]
    assert [h for h in helper.list_webhooks(jira) if h["self"] == first["self"]]
    helper.delete_webhook(first, client=jira)
    assert not [h for h in helper.list_webhooks(jira) if h["self"] == first["self"]]


def test_bad_jql_and_bad_tokens_are_clear_errors(lab_world, jira):
    with pytest.raises(helper.JiraHelperError, match="Field 'nope' does not exist"):
        helper.search("nope = 1", jira)
    wrong = Settings(jira_token="wrong-token")
    with pytest.raises(helper.JiraHelperError, match="HTTP 401"):
        helper.open_or_update_incident(incident(), settings=wrong, client=helper.connect(wrong, 0))


def test_missing_settings_are_named(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIRA_URL", raising=False)
    monkeypatch.delenv("LAB_HOME", raising=False)
    with pytest.raises(MissingSetting, match="JIRA_URL"):
        helper.connect(Settings(_env_file=None))
    with pytest.raises(MissingSetting, match="JIRA_TEAM_OWNERS"):
        helper.assign_to_team("SEC-1", "platform", client=object(), owners={})


def test_the_same_code_works_on_cloud(cloud):
    settings = Settings(
        jira_url=cloud.url, jira_user="lab-automation", jira_token=cloud.token, jira_project="SEC"
    )
    client = helper.connect(settings, max_retries=0)
    assert client._is_cloud
    alert = incident()
    first = helper.open_or_update_incident(alert, client=client, settings=settings)
    second = helper.open_or_update_incident(alert, client=client, settings=settings)
    assert first.created and not second.created and first.key == second.key
    assert helper.assign_to_team(first, "data", client=client, owners={"data": "bob"}) == "bob"
    assert client.issue(first.key).fields.assignee.displayName.startswith("Bob")
    assert helper.transition(first, "Done", client=client) == "Done"


def test_webhook_receiver_checks_signatures(jira):
    with JiraWebhookReceiver() as receiver:
        forged = http().post(receiver.url, data=b"{}", headers={"X-Hub-Signature": "sha256=00"})
        assert forged.status_code == 401 and receiver.rejected == 1
        hook = helper.register_webhook(
            receiver.url, events=["comment_created"], secret=receiver.secret, client=jira
        )
        ticket = helper.open_or_update_incident(incident(), client=jira)
        helper.comment(ticket, "signed", client=jira)
        [payload] = receiver.wait(where=jira_event("comment_created"))
        assert payload["comment"]["body"] == "signed"
        helper.delete_webhook(hook, client=jira)


def test_racing_alerts_in_one_process_make_one_ticket(jira):
    alert = incident()
    with ThreadPoolExecutor(max_workers=4) as pool:
        tickets = list(
            pool.map(lambda _: helper.open_or_update_incident(alert, client=jira), range(4))
        )
    assert len({t.key for t in tickets}) == 1
    assert sum(t.created for t in tickets) == 1
    assert len(jira.comments(tickets[0].key)) == 3


def test_connect_with_a_personal_access_token(lab_world, monkeypatch):
    monkeypatch.delenv("JIRA_USER")  # no user: JIRA_TOKEN goes as a bearer token (DC PAT)
    settings = Settings(_env_file=None)
    assert settings.jira_user is None
    client = helper.connect(settings, max_retries=0)
    assert client.myself()["name"] == "lab-automation"


def test_long_keys_and_multiline_titles_fit_jiras_limits(jira):
    alert = incident(
        resource="arn:aws:s3:::" + "very-long-bucket-name-" * 15, title="Bucket made\npublic"
    )
    assert len(helper.dedup_key(alert)) > 255
    first = helper.open_or_update_incident(alert, client=jira)
    second = helper.open_or_update_incident(alert, client=jira)
    assert first.key == second.key and not second.created
    stored = jira.issue(first.key).fields
    assert stored.customfield_10050 == helper.field_value(helper.dedup_key(alert))
    assert "\n" not in stored.summary and len(stored.summary) <= 255
