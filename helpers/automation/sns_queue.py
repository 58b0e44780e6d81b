"""The seed's path in: the Splunk SNS alert action -> SNS topic -> SQS queue -> the automation.

A thread long-polls the queue subscribed to the alert topic. Each message is parsed (an SNS
notification, or a raw message when the subscription delivers raw) and persisted on the inbox
before it is deleted from SQS, so an acknowledged alert is never lost. A message that is not an
alert is left alone: SQS's redrive policy moves it to the queue's dead-letter queue.

>>> consumer = AlertQueueConsumer(automation, sqs, "lab-alerts")     # doctest: +SKIP
>>> consumer.start()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import threading

from helpers.automation.engine import Automation
from helpers.automation.intake import BadRequest, sns_alert, sns_notification

__all__ = ["AlertQueueConsumer"]

log = logging.getLogger("helpers.automation.sns")

WAIT_SECONDS = 2  # SQS long poll: short, so a stop is quick and alerts are not delayed


class AlertQueueConsumer(threading.Thread):
    """Moves alert messages from the SQS queue onto the automation's inbox."""

    def __init__(self, automation: Automation, sqs, queue: str):
        super().__init__(name="sns-alerts", daemon=True)
        self.automation = automation
        self.sqs = sqs
        self.queue = queue
        self._url: str | None = None
        self._stopping = threading.Event()
        self.accepted = 0
        self.rejected = 0

    @property
    def url(self) -> str:
        if self._url is None:
            if self.queue.startswith(("http://", "https://")):
                self._url = self.queue
            else:
                self._url = self.sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
        return self._url

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self.poll()
                delay = 0.5
            except Exception as err:  # SQS down: keep trying, with backoff
                log.warning("alert queue %s: %s; retrying in %.1fs", self.queue, err, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    def poll(self, wait: int = WAIT_SECONDS) -> int:
        """Receive once and move what came; returns how many alerts were accepted."""
        resp = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        )
        done = []
        for message in resp.get("Messages", []):
            try:
                body = json.loads(message["Body"])
                alert = (
                    sns_notification(body)
                    if isinstance(body, dict) and "Message" in body
                    else sns_alert(body)
                )
            except (ValueError, BadRequest) as err:
                self.rejected += 1
                log.warning("alert queue message %s is not an alert: %s", message["MessageId"], err)
                continue
            self.automation.accept(alert)  # durable first ...
            done.append({"Id": message["MessageId"], "ReceiptHandle": message["ReceiptHandle"]})
        if done:  # ... then acknowledged to SQS
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=done)
            self.accepted += len(done)
        return len(done)
