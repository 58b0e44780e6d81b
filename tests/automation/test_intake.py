"""The ways in refuse malformed, oversized and wrongly typed input with a message naming it."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from helpers.automation import intake
from helpers.automation.intake import BadRequest

ROW = {"detection": "security-group-open-to-world", "resource": "sg-1", "account": "123456789012"}
KEY = "security-group-open-to-world:sg-1:123456789012"


def _webhook(**overrides) -> bytes:
    body = {"sid": "rt_1", "search_name": "security-group-open-to-world", "result": ROW,
            "results_link": "http://splunk/app/search/@go?sid=rt_1", "owner": "nobody",
            "app": "search"} | overrides  # fmt: skip
    return json.dumps(body).encode()


def test_a_splunk_webhook_becomes_an_alert_with_its_row():
    alert = intake.splunk_alert(_webhook())
    assert alert["kind"] == "alert" and alert["source"] == "splunk-webhook"
    assert alert["rows"] == [ROW] and alert["sid"] == "rt_1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (_webhook(sid=7), "sid must be a string"),
        (_webhook(sid=""), "sid must not be empty"),
        (json.dumps({"sid": "x"}).encode(), "result is required"),
        (_webhook(result="a string"), "result must be a JSON object"),
        (_webhook(result={"a": {"nested": 1}}), "field 'a' must be a string"),
        (_webhook(search_name=["x"]), "search_name must be a string"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100 + b"]" * 100, "nests deeper"),
    ],
)
def test_bad_splunk_webhooks_are_refused(body, message):
    with pytest.raises(BadRequest, match=message) as err:
        intake.splunk_alert(body)
    assert err.value.status == 400


def test_an_oversized_body_is_413():
    with pytest.raises(BadRequest) as err:
        intake.splunk_alert(b" " * (intake.MAX_BODY + 1))
    assert err.value.status == 413


def test_a_sweep_s_findings_become_a_sweep_item_with_its_rows():
    item = intake.sweep_findings(json.dumps({"rows": [ROW], "source": "the sg-sweep job"}))
    assert item == {"kind": "sweep", "source": "the sg-sweep job", "rows": [ROW]}
    assert intake.sweep_findings(b'{"rows": []}')["rows"] == []  # nothing found is fine


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "rows must be a list"),
        (b'{"rows": {"a": 1}}', "rows must be a list"),
        (b'{"rows": ["sg-1"]}', "a row must be a JSON object"),
        (json.dumps({"rows": [{"resource": "sg-1"}]}).encode(), "every row needs a detection"),
        (json.dumps({"rows": [{"detection": "d", "resource": 7}]}).encode(), "needs a resource"),
        (json.dumps({"rows": [ROW], "source": 3}).encode(), "source must be a string"),
        (json.dumps({"rows": [ROW] * (intake.MAX_ROWS + 1)}).encode(), "at most 1000 rows"),
    ],
)
def test_bad_sweeps_are_refused(body, message):
    with pytest.raises(BadRequest, match=message):
        intake.sweep_findings(body)


def _sns_message(**overrides) -> str:
    return json.dumps({"search_name": "s", "sid": "sid9", "entity": "sg-1",
                       "correlation_id": KEY, "source": "d", "event": json.dumps(ROW)}
                      | overrides)  # fmt: skip


def test_the_sns_alert_message_carries_the_result_row():
    alert = intake.sns_alert(_sns_message())
    assert alert["rows"] == [ROW | {"dedup_key": KEY}] and alert["sid"] == "sid9"
    assert alert["source"] == "sns"


def test_an_sns_message_without_event_uses_entity_and_correlation_id():
    alert = intake.sns_alert(_sns_message(event=""))
    assert alert["rows"] == [{"resource": "sg-1", "dedup_key": KEY, "detection": "d"}]


def test_an_sns_message_with_nothing_in_it_is_refused():
    with pytest.raises(BadRequest, match="carries no result"):
        intake.sns_alert(json.dumps({"search_name": "s"}))


def test_lambda_events_of_both_shapes():
    notification = {"Type": "Notification", "Message": _sns_message(), "TopicArn": "arn:x"}
    sns_event = {"Records": [{"EventSource": "aws:sns", "Sns": notification}]}
    sqs_event = {"Records": [{"eventSource": "aws:sqs", "messageId": "m-1",
                              "body": json.dumps(notification)}]}  # fmt: skip
    [(none, a)] = intake.lambda_alerts(sns_event)
    [(mid, b)] = intake.lambda_alerts(sqs_event)
    assert none is None and mid == "m-1"
    assert a["rows"] == b["rows"] == [ROW | {"dedup_key": KEY}]
    with pytest.raises(BadRequest, match="unsupported Lambda event source"):
        intake.lambda_alerts({"Records": [{"eventSource": "aws:kinesis"}]})
    with pytest.raises(BadRequest, match="no Records"):
        intake.lambda_alerts({"Records": []})


def test_jira_events_keep_the_status_change():
    body = {"webhookEvent": "jira:issue_updated", "issue": {"key": "SEC-1",
            "fields": {"status": {"name": "In Progress"}}}, "user": {"name": "alice"},
            "changelog": {"items": [{"field": "status", "fromString": "Waiting for approval",
                                     "toString": "In Progress"}]}}  # fmt: skip
    event = intake.jira_event(json.dumps(body).encode())
    assert (event["ticket"], event["status_from"], event["status_to"], event["user"]) == (
        "SEC-1", "Waiting for approval", "In Progress", "alice")  # fmt: skip
    with pytest.raises(BadRequest, match="issue must be a JSON object"):
        intake.jira_event(b'{"webhookEvent": "x", "issue": 3}')


def _form(**fields) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def test_slack_clicks_and_commands():
    payload = {"type": "block_actions", "user": {"username": "alice"}, "response_url": "http://r",
               "actions": [{"action_id": "approve_remediation",
                            "value": json.dumps({"dedup_key": "k"})}]}  # fmt: skip
    click = intake.slack_action(_form(payload=json.dumps(payload)))
    assert (click["action_id"], click["dedup_key"], click["user"]) == (
        "approve_remediation", "k", "alice")  # fmt: skip
    command = intake.slack_command(_form(command="/secbot", text="approve SEC-1",
                                         user_name="bob"))  # fmt: skip
    assert (command["verb"], command["args"], command["user"]) == ("approve", ["SEC-1"], "bob")
    with pytest.raises(BadRequest, match="unknown subcommand 'reboot'"):
        intake.slack_command(_form(command="/secbot", text="reboot"))
    with pytest.raises(BadRequest, match="names no incident"):
        bad = {**payload, "actions": [{"action_id": "approve_remediation", "value": "{}"}]}
        intake.slack_action(_form(payload=json.dumps(bad)))
    with pytest.raises(BadRequest, match="unsupported interaction type"):
        intake.slack_action(_form(payload=json.dumps({"type": "view_submission"})))
