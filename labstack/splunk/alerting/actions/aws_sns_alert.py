"""The Splunk Add-on for AWS's SNS alert action (``actions=aws_sns_alert``).

Parameters, as the add-on documents them (``action.aws_sns_alert.param.<name>``): ``account``
(the add-on's configured AWS account; in the lab any name means the credentials in this
process's environment, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, and ``AWS_ENDPOINT_URL``),
``region``, ``topic_name`` (required), ``publish_all`` (1: one message per result; 0: the first
result only), and ``message``, ``entity``, ``correlation_id``, ``source``, ``timestamp``,
``event``, each of which may hold ``$result.<field>$`` and alert tokens (:mod:`..tokens`),
substituted per result.

Each SNS message (subject ``Splunk Alert: <search name>``) is a JSON object: ``search_name``,
``results_link``, ``app``, ``owner``, ``trigger_time``, ``sid`` and the six parameters after
substitution; with ``event`` empty the lab puts the result, as a JSON string, there. The topic is
found by name with ``ListTopics`` (the add-on's permissions: ``sns:Publish``, ``sns:Get*``,
``sns:List*``). Throttling, 5xx answers and connection errors are retried by the outbox; a
missing topic, refused credentials or a rejected message are dead letters at once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from helpers.runtime.queue import Permanent, Retry
from labstack.splunk.alerting.actions import ACTIONS, Action, ActionSettings, Outgoing, Trigger
from labstack.splunk.alerting.actions.webhook import text_values
from labstack.splunk.alerting.rule import AlertRule, ConditionError
from labstack.splunk.alerting.tokens import substitute
from labstack.splunk.saved import flag

__all__ = ["NAME", "AwsSnsAlert", "messages"]

log = logging.getLogger("labstack.splunk.alerts")

NAME = "aws_sns_alert"
#: The parameters that become fields of the message, in the add-on's order.
FIELDS = ("entity", "correlation_id", "source", "timestamp", "event", "message")
#: SNS accepts subjects up to 100 characters.
SUBJECT_LIMIT = 100
#: Region when neither the parameter nor ``AWS_DEFAULT_REGION`` names one.
DEFAULT_REGION = "us-east-1"
#: AWS error codes worth another attempt (the rest are final).
RETRY_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "InternalError", "InternalFailure", "ServiceUnavailable", "KMSThrottling",
}  # fmt: skip


def messages(trigger: Trigger, default_region: str = DEFAULT_REGION) -> list[Outgoing]:
    """The SNS publishes of one trigger, tokens substituted (pure: no AWS call).

    >>> rule = AlertRule.parse("Lab Alert", {"actions": NAME,
    ...     "action.aws_sns_alert.param.topic_name": "alerts",
    ...     "action.aws_sns_alert.param.entity": "$result.user$"})
    >>> [one] = messages(Trigger(rule, "sid1", ({"user": "alice"}, {"user": "bob"}), 0.0, "l"))
    >>> json.loads(one.payload["message"])["entity"], one.target
    ('alice', 'us-east-1/alerts')
    """
    rule = trigger.rule
    region = rule.param(NAME, "region") or default_region
    topic = rule.param(NAME, "topic_name")
    rows = trigger.rows if flag(rule.param(NAME, "publish_all", "0")) else trigger.rows[:1]
    tokens = trigger.tokens()
    out = []
    for row in rows or (None,):  # a trigger without results still tells the topic once
        body = {
            "search_name": rule.name,
            "results_link": trigger.results_link,
            "app": rule.app,
            "owner": rule.owner,
            "trigger_time": tokens["trigger_time"],
            "sid": trigger.sid,
        }
        for name in FIELDS:
            body[name] = substitute(rule.params.get(NAME, {}).get(name, ""), tokens, row)
        if not body["event"]:
            body["event"] = json.dumps(text_values(row), sort_keys=True)
        out.append(
            Outgoing(
                f"{region}/{topic}",
                {
                    "account": rule.param(NAME, "account"),
                    "region": region,
                    "topic_name": topic,
                    "subject": f"Splunk Alert: {rule.name}"[:SUBJECT_LIMIT],
                    "message": json.dumps(body),
                },
            )
        )
    return out


@ACTIONS.register(NAME)
class AwsSnsAlert(Action):
    name = NAME

    def __init__(self, settings: ActionSettings, client_factory: Callable | None = None):
        super().__init__(settings)
        self._client_factory = client_factory or self._boto3_client
        self._clients: dict[str, object] = {}
        self._topics: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def check(self, rule: AlertRule) -> None:
        if rule.action_enabled(NAME) and not rule.param(NAME, "topic_name"):
            raise ConditionError(
                f"actions={NAME} needs action.{NAME}.param.topic_name (the SNS topic's name)."
            )

    def prepare(self, trigger: Trigger) -> list[Outgoing]:
        region = self.settings.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        return messages(trigger, region)

    # -- AWS -------------------------------------------------------------------------------------
    def _boto3_client(self, region: str):
        import boto3  # only a process that publishes pays for importing it
        from botocore.config import Config

        env = self.settings.environ
        timeout = self.settings.timeout
        session = boto3.session.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
            region_name=region,
        )
        config = Config(  # the outbox retries, with its own backoff and dead letters
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=timeout,
            read_timeout=timeout,
        )
        return session.client("sns", endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
                              config=config)  # fmt: skip

    def _client(self, region: str):
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self._client_factory(region)
            return self._clients[region]

    def _topic_arn(self, client, region: str, topic: str) -> str:
        known = self._topics.get((region, topic))
        if known:
            return known
        for page in client.get_paginator("list_topics").paginate():
            for item in page.get("Topics", []):
                if item["TopicArn"].rsplit(":", 1)[-1] == topic:
                    self._topics[(region, topic)] = item["TopicArn"]
                    return item["TopicArn"]
        raise Permanent(f"SNS topic '{topic}' does not exist in {region}")

    def deliver(self, delivery: Outgoing) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        body = delivery.payload
        region, topic = body["region"], body["topic_name"]
        try:
            client = self._client(region)
            arn = self._topic_arn(client, region, topic)
            answer = client.publish(TopicArn=arn, Subject=body["subject"], Message=body["message"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            text = f"{code or 'error'}: {error.get('Message', '')}".strip()
            if code == "NotFound":
                self._topics.pop((region, topic), None)
            if code in RETRY_CODES or status >= 500 or status == 429:
                raise Retry(f"HTTP {status} {text}" if status else text) from None
            raise Permanent(f"HTTP {status} {text}" if status else text) from None
        except NoCredentialsError as exc:
            raise Permanent(str(exc)) from None
        except BotoCoreError as exc:  # connection refused, timed out
            raise Retry(str(exc) or type(exc).__name__) from None
        return f"published {answer.get('MessageId', '')} to {arn}"
