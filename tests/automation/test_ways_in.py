"""Every way in lands on the same incident: the Splunk webhook, the Splunk Add-on for AWS SNS
alert action (SNS -> SQS -> automation), and the Lambda handler on SNS and SQS events."""

from __future__ import annotations

import json
import uuid

import pytest

from helpers import detections

pytestmark = pytest.mark.stack


def _makeresults(row: dict) -> str:
    evals = ", ".join(f'{k}="{v}"' for k, v in row.items())
    return f"| makeresults | eval {evals} | table {' '.join(row)}"


def _row() -> dict:
    resource = f"sg-0{uuid.uuid4().hex[:16]}"
    detection = "security-group-open-to-world"
    return {"detection": detection, "severity": "high", "playbook": "notify-only",
            "resource": resource, "account": "123456789012", "region": "us-east-1",
            "details": "ingress from anywhere", "event_time": "2026-12-01T09:00:00Z",
            "dedup_key": f"{detection}:{resource}:123456789012"}  # fmt: skip


def test_the_sns_alert_action_makes_the_same_incident_as_the_webhook(wired):
    from helpers import splunk

    row = _row()
    service = splunk.connect(wired.settings)
    name = f"sns-path-{uuid.uuid4().hex[:6]}"
    params = detections.saved_search_params(
        detections.get("security-group-open-to-world"),
        sns_topic=wired.env["AUTOMATION_ALERT_TOPIC"],
        sns_region=wired.settings.aws_region,
    )
    params = {k: v for k, v in params.items() if k.startswith(("action", "alert."))}
    saved = service.saved_searches.create(name, _makeresults(row), **params)
    try:
        saved.dispatch(trigger_actions=1)
        incident = wired.wait(lambda: wired.incident(row["dedup_key"]), timeout=60,
                              what="the incident from the SNS path")  # fmt: skip
        assert any("SNS alert action" in s["text"] for s in incident["timeline"])
        wired.wait_state(row["dedup_key"], "planned")
        first = wired.incident(row["dedup_key"])
        # The same result through the webhook: the same incident, the same ticket.
        assert wired.post_alert(row, sid="rt_sns_twin").status_code == 202
        again = wired.wait(lambda: (i := wired.incident(row["dedup_key"]))["seen"] == 2 and i,
                           what="the webhook's copy")  # fmt: skip
        assert again["ticket"] == first["ticket"] and again["slack"] == first["slack"]
    finally:
        service.saved_searches.delete(name)


def _sns_record(row: dict) -> dict:
    message = {"search_name": row["detection"], "sid": f"lambda_{uuid.uuid4().hex[:6]}",
               "results_link": "", "app": "search", "owner": "nobody", "trigger_time": "0",
               "entity": row["resource"], "correlation_id": row["dedup_key"],
               "source": row["detection"], "timestamp": row["event_time"], "message": "",
               "event": json.dumps(row)}  # fmt: skip
    notification = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:lab-security-alerts",
        "Subject": f"Splunk Alert: {row['detection']}",
        "Message": json.dumps(message),
    }
    return {"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": notification}  # fmt: skip


@pytest.fixture
def lambda_env(wired, monkeypatch, tmp_path):
    """The process environment a Lambda in this account would have: the world's settings."""
    from helpers.automation import aws_lambda
    from helpers.config import get_settings

    for key, value in wired.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOMATION_STATE_DIR", str(tmp_path / "lambda"))
    get_settings.cache_clear()
    aws_lambda.reset()
    yield aws_lambda
    aws_lambda.reset()
    get_settings.cache_clear()


def test_lambda_on_sns_and_sqs_events_reaches_the_webhooks_ticket(wired, lambda_env):
    row = _row()
    assert wired.post_alert(row, sid="rt_lambda_twin").status_code == 202
    server = wired.wait_state(row["dedup_key"], "planned")
    sns = lambda_env.lambda_handler({"Records": [_sns_record(row)]}, None)
    assert sns["batchItemFailures"] == [] and row["dedup_key"] in sns["results"][0]
    sqs_event = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "messageId": "m-1",
                "body": json.dumps(_sns_record(row)["Sns"]),
            },
            {
                "eventSource": "aws:sqs",
                "messageId": "m-2",
                "body": json.dumps({"Type": "Notification", "Message": "{}"}),
            },
        ]
    }
    answer = lambda_env.lambda_handler(sqs_event, None)  # fmt: skip
    assert answer["batchItemFailures"] == [{"itemIdentifier": "m-2"}]  # only the bad one retried
    store = lambda_env._service().store
    lambda_incident = store.get(row["dedup_key"])
    assert lambda_incident["ticket"] == server["ticket"]  # found by dedup key, not a second one
    assert lambda_incident["slack"]["ts"] == server["slack"]["ts"]


def test_a_sweep_job_s_findings_become_the_same_incident_as_an_alert(wired):
    """``POST /api/sweep`` (what the sg-sweep job calls): the token is required, nothing found
    stores nothing, and each row is handled like Splunk's alert for the same group."""
    from helpers.automation import api

    row = _row()
    url = f"{wired.url}/api/sweep"
    refused = wired.http.post(url, json={"rows": [row]}, timeout=10)
    assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
    token = {"Authorization": f"Bearer {wired.env['AUTOMATION_TOKEN']}"}
    empty = wired.http.post(url, json={"rows": []}, headers=token, timeout=10)
    assert empty.status_code == 200 and empty.json() == {"accepted": False, "id": None, "rows": 0}
    bad = wired.http.post(url, json={"rows": [{"resource": "x"}]}, headers=token, timeout=10)
    assert bad.status_code == 400 and "detection" in bad.json()["error"]
    assert api.sweep([row], source="a test sweep", settings=wired.settings)["rows"] == 1
    incident = wired.wait_state(row["dedup_key"], "planned", "verified")
    assert any(s["text"].startswith("From a sweep: a test sweep") for s in incident["timeline"])
    assert wired.post_alert(row, sid="rt_sweep_twin").status_code == 202
    again = wired.wait(lambda: (i := wired.incident(row["dedup_key"]))["seen"] == 2 and i,
                       what="the webhook's copy")  # fmt: skip
    assert again["ticket"] == incident["ticket"]
