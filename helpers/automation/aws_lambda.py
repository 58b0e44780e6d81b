"""The automation as an AWS Lambda function behind SNS or SQS: the same engine, no server.

The Splunk SNS alert action publishes to a topic; the function is subscribed to the topic (SNS
event) or to a queue subscribed to it (SQS event). Each record is handled synchronously with the
same :class:`~helpers.automation.engine.Automation` as the server. For SQS, records that fail are
returned as ``batchItemFailures`` so only they are retried (enable ReportBatchItemFailures); for
SNS a failure raises, and Lambda retries the event.

The function's store lives in ``AUTOMATION_STATE_DIR`` (``/tmp`` in Lambda, kept while the
execution environment is warm). A cold start loses nothing that matters: the ticket and the
thread are found again by dedup key before anything is created.

>>> lambda_handler({"Records": [sns_record]}, None)          # doctest: +SKIP
{'batchItemFailures': [], 'results': ['1 incident(s): ...']}
"""

from __future__ import annotations

import logging
import threading

from helpers.automation.intake import BadRequest, lambda_alerts

__all__ = ["lambda_handler", "reset"]

log = logging.getLogger("helpers.automation.lambda")
_SERVICE = None
_LOCK = threading.Lock()


def _service():
    global _SERVICE
    with _LOCK:
        if _SERVICE is None:
            from helpers.automation.service import build

            _SERVICE = build(web=False, respond_on="alert")  # no Jira callback reaches it
        return _SERVICE


def reset() -> None:
    """Forget the built engine (tests; a new configuration)."""
    global _SERVICE
    with _LOCK:
        if _SERVICE is not None:
            _SERVICE.close()
        _SERVICE = None


def lambda_handler(event, context):
    """Handle one SNS or SQS event; see the module docstring."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise BadRequest("not an SNS or SQS event: it has no Records list")
    automation = _service().automation
    failures, results = [], []
    for record in event["Records"]:
        message_id = record.get("messageId") if isinstance(record, dict) else None
        try:
            [(_, alert)] = lambda_alerts({"Records": [record]})
            results.append(automation.process(alert))
        except Exception as err:
            log.exception("record %s failed", message_id or "(SNS)")
            if message_id is None:  # SNS: fail the event, Lambda retries it
                raise
            failures.append({"itemIdentifier": message_id})
            results.append(f"failed: {err}")
    return {"batchItemFailures": failures, "results": results}
