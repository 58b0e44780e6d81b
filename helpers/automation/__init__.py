"""The automation server: every alert becomes one incident, one ticket, one thread.

Alerts arrive from Splunk's webhook alert action, from the Splunk Add-on for AWS SNS alert action
(through an SQS queue subscribed to the topic), or as a Lambda event; Jira calls back when the
ticket is created; Slack delivers Approve / Deny clicks and the ``/secbot`` command. Every request
is persisted before it is acknowledged; workers do the rest, one idempotent step at a time (see
:mod:`helpers.automation.engine`).

Run it next to real products with ``python -m helpers.automation`` (settings as everywhere in the
toolkit); ``lab up`` runs it as the ``automation`` service;
:func:`helpers.automation.lambda_handler` is the same logic as an AWS Lambda behind SNS or SQS.

>>> from helpers.automation import build
>>> service = build()                                  # doctest: +SKIP
>>> service.automation.store.list()                    # doctest: +SKIP
[]
"""

from __future__ import annotations

from helpers.automation.service import Service, build, state_dir

__all__ = ["Service", "build", "lambda_handler", "state_dir"]


def lambda_handler(event, context):
    """The AWS Lambda entry point (SNS or SQS events); see :mod:`helpers.automation.aws_lambda`."""
    from helpers.automation.aws_lambda import lambda_handler as handler

    return handler(event, context)
