"""``lab doctor``: check every configured endpoint and say exactly what is wrong and how to fix it.

Each check talks to a product through the same client the toolkit uses (boto3, splunklib, jira,
slack_sdk, requests) and answers ``ok``, ``warn`` (works, but something is missing), ``fail``
(naming the setting and the fix) or ``skip`` (a check it depends on failed, or the product is not
configured). Nothing is changed: every probe is a read, or a request the far side refuses.

>>> from helpers import doctor
>>> [f for f in doctor.run() if f.status == "fail"]                 # doctest: +SKIP
[]
"""

from __future__ import annotations

# Importing a product's module registers its checks.
from helpers.doctor import automation, aws, jira, slack, splunk  # noqa: F401
from helpers.doctor.base import CHECKS, Finding, run

__all__ = ["CHECKS", "Finding", "run"]
