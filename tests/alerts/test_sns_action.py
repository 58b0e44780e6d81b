"""The Splunk Add-on for AWS's SNS alert action: token substitution, publish_all, the message,
retries, and a saved search whose alert reaches the lab account's alert queue through SNS."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from helpers.runtime.queue import Permanent, Retry
from labstack.splunk.alerting.actions import ActionSettings, Trigger
from labstack.splunk.alerting.actions.aws_sns_alert import NAME, AwsSnsAlert, messages
from labstack.splunk.alerting.rule import AlertRule, ConditionError
from labstack.splunk.alerting.tokens import substitute
from tests.alerts.alertlab import wait_for
from tests.splunk.splunklab import http, unique

ROWS = ({"user": "alice", "src": ["198.51.100.7", "10.0.0.1"]}, {"user": "bob"})
#: The lab account's alert topic and the automation's queue (labstack/aws/account.yaml).
TOPIC, QUEUE = "lab-security-alerts", "lab-security-alerts-automation"


def _rule(**params) -> AlertRule:
    attrs = {"actions": NAME, **{f"action.{NAME}.param.{k}": v for k, v in params.items()}}
    return AlertRule.parse("Lab Alert", attrs, owner="admin", app="search")


def _trigger(rule: AlertRule, rows=ROWS) -> Trigger:
    return Trigger(rule, "sid1", tuple(rows), 1700000000.9, "http://h/app/search/@go?sid=sid1")


def test_tokens_are_substituted_from_the_result_and_the_alert():
    context = {"name": "A", "search_name": "A", "trigger_time": "17"}
    text = "$name$/$search_name$ at $trigger_time$: $result.user$ from $result.src$"
    assert substitute(text, context, ROWS[0]) == "A/A at 17: alice from 198.51.100.7"
    assert substitute("$result.missing$|$unknown$|5$", context, ROWS[0]) == "|$unknown$|5$"
    assert substitute("$result.user$", context, None) == ""


def test_one_message_per_result_with_publish_all():
    rule = _rule(
        topic_name="t", region="eu-west-1", publish_all="1", entity="$result.user$",
        message="$name$ saw $result.user$", correlation_id="$result.src$-$trigger_time$",
        source="splunk", timestamp="$trigger_time$", event="user=$result.user$",
    )  # fmt: skip
    out = messages(_trigger(rule))
    assert [o.target for o in out] == ["eu-west-1/t", "eu-west-1/t"]
    first, second = (json.loads(o.payload["message"]) for o in out)
    assert first == {
        "search_name": "Lab Alert", "results_link": "http://h/app/search/@go?sid=sid1",
        "app": "search", "owner": "admin", "trigger_time": "1700000000", "sid": "sid1",
        "entity": "alice", "correlation_id": "198.51.100.7-1700000000", "source": "splunk",
        "timestamp": "1700000000", "event": "user=alice", "message": "Lab Alert saw alice",
    }  # fmt: skip
    assert (second["entity"], second["correlation_id"]) == ("bob", "-1700000000")
    assert out[0].payload["subject"] == "Splunk Alert: Lab Alert"
    assert out[0].payload["region"] == "eu-west-1" and out[0].payload["topic_name"] == "t"


def test_the_first_result_only_without_publish_all_and_the_row_as_event():
    [only] = messages(_trigger(_rule(topic_name="t", publish_all="0")), "us-west-2")
    body = json.loads(only.payload["message"])
    assert only.target == "us-west-2/t"
    assert json.loads(body["event"]) == ROWS[0] and body["message"] == ""
    [empty] = messages(_trigger(_rule(topic_name="t"), rows=()))
    assert json.loads(json.loads(empty.payload["message"])["event"]) == {}


def test_a_missing_topic_name_is_rejected():
    action = AwsSnsAlert(ActionSettings(environ={}))
    with pytest.raises(ConditionError, match=f"action.{NAME}.param.topic_name"):
        action.check(_rule(region="us-east-1"))
    action.check(_rule(topic_name="t"))


class FakeSns:
    """list_topics and publish, answering what ``outcome`` says."""

    def __init__(self, outcome=None):
        self.outcome, self.published = outcome, []

    def get_paginator(self, name):
        topics = [{"TopicArn": "arn:aws:sns:us-east-1:123456789012:other"},
                  {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}]  # fmt: skip
        return type("P", (), {"paginate": lambda self: [{"Topics": topics}]})()

    def publish(self, **kwargs):
        if self.outcome is not None:
            raise self.outcome
        self.published.append(kwargs)
        return {"MessageId": "m-1"}


def _error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "Publish")


@pytest.mark.parametrize(
    ("outcome", "raised"),
    [
        (None, None),
        (_error("Throttling", 400), Retry),
        (_error("InternalError", 500), Retry),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), Retry),
        (_error("AuthorizationError", 403), Permanent),
        (_error("InvalidParameter", 400), Permanent),
    ],
)
def test_deliveries_publish_to_the_named_topic_and_say_what_to_retry(outcome, raised):
    client = FakeSns(outcome)
    action = AwsSnsAlert(ActionSettings(environ={}), client_factory=lambda region: client)
    [delivery] = messages(_trigger(_rule(topic_name="t")))
    if raised is None:
        assert "m-1" in action.deliver(delivery)
        [sent] = client.published
        assert sent["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:t"
        assert sent["Subject"] == "Splunk Alert: Lab Alert"
    else:
        with pytest.raises(raised):
            action.deliver(delivery)


def test_an_unknown_topic_is_a_dead_letter():
    action = AwsSnsAlert(ActionSettings(environ={}), client_factory=lambda region: FakeSns())
    [delivery] = messages(_trigger(_rule(topic_name="nope")))
    with pytest.raises(Permanent, match="nope"):
        action.deliver(delivery)


# -- against the running local world --------------------------------------------------------------
def _client(settings: dict, name: str):
    return boto3.client(
        name, endpoint_url=settings["AWS_ENDPOINT_URL"], region_name=settings["AWS_DEFAULT_REGION"],
        aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def sqs(lab_world):
    return _client(lab_world.settings, "sqs")


@pytest.fixture
def topic_queue(lab_world, sqs):
    """A queue of this test's own on the alert topic, next to the automation's queue (whose
    consumer, the automation service, takes what arrives there): (queue URL, topic ARN)."""
    sns = _client(lab_world.settings, "sns")
    [arn] = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{TOPIC}")
    ]
    url = sqs.create_queue(QueueName=unique("sns-test"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscription = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    yield url, arn
    sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sqs.delete_queue(QueueUrl=url)


def _received(sqs, url: str, search: str, found: list) -> list:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for message in answer.get("Messages", []):
        envelope = json.loads(message["Body"])
        body = json.loads(envelope["Message"])
        if body.get("search_name") == search:
            found.append((envelope, body))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_fired_alert_reaches_the_alert_queue_through_sns(
    alerts, service, sqs, lab_world, topic_queue
):
    alerts.send({"user": "alice", "action": "fail", "src": "198.51.100.7"},
                {"user": "bob", "action": "fail", "src": "203.0.113.9"})  # fmt: skip
    saved = alerts.create(
        "search index={index} action=fail | table user src", actions=NAME,
        **{f"action.{NAME}.param.{k}": v for k, v in {
            "account": "lab", "region": lab_world.settings["AWS_DEFAULT_REGION"],
            "topic_name": TOPIC, "publish_all": "1", "entity": "$result.user$",
            "correlation_id": "$name$-$result.user$", "source": "lab-splunk",
            "message": "$result.user$ failed from $result.src$"}.items()},
    )  # fmt: skip
    alerts.dispatch(saved)
    # The topic feeds the automation's queue (the lab account's SNS alert path) ...
    url, arn = topic_queue
    sns = _client(lab_world.settings, "sns")
    endpoints = {
        s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    }
    assert any(e.endswith(f":{QUEUE}") for e in endpoints)
    # ... and this test's queue, where the messages are read.
    found: list = []
    try:
        wait_for(lambda: len(_received(sqs, url, saved.name, found)) >= 2, what="SNS messages")
    except AssertionError:
        answer = service.get("alerts/deliveries", output_mode="json", action=NAME)
        raise AssertionError(f"{found}; outbox: {answer.body.read()[:2000]}") from None
    assert {e["Subject"] for e, _ in found} == {f"Splunk Alert: {saved.name}"}
    assert {e["TopicArn"].rsplit(":", 1)[-1] for e, _ in found} == {TOPIC}
    bodies = sorted((b for _, b in found), key=lambda b: b["entity"])
    assert [b["message"] for b in bodies] == [
        "alice failed from 198.51.100.7", "bob failed from 203.0.113.9",
    ]  # fmt: skip
    assert bodies[0]["correlation_id"] == f"{saved.name}-alice"
    assert json.loads(bodies[0]["event"]) == {"user": "alice", "src": "198.51.100.7"}
    assert bodies[0]["app"] == "search" and bodies[0]["source"] == "lab-splunk"
    assert bodies[0]["sid"] and "@go?sid=" in bodies[0]["results_link"]

    [fired] = alerts.fired(saved.name)
    assert fired[f"{NAME}_status"] == "delivered" or wait_for(
        lambda: alerts.fired(saved.name)[0][f"{NAME}_status"] == "delivered", what="delivered"
    )
    listed = json.loads(
        service.get("alerts/deliveries", output_mode="json", action=NAME).body.read()
    )
    mine = [d for d in listed["deliveries"] if d["search_name"] == saved.name]
    assert len(mine) == 2 and {d["status"] for d in mine} == {"delivered"}


def test_a_saved_search_without_a_topic_is_rejected_with_400(splunk, service):
    response = http().post(
        splunk.url + "/services/saved/searches",
        data={"name": "no-topic", "search": "search index=main", "actions": NAME,
              f"action.{NAME}.param.region": "us-east-1"},
        auth=("admin", splunk.password), timeout=10,
    )  # fmt: skip
    assert response.status_code == 400
    assert f"action.{NAME}.param.topic_name" in response.text
