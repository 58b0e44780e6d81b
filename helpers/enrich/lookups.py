"""The lookup tables enrichers share with Splunk (``helpers/detections/lookups/*.csv``).

>>> account("123456789012")["team"]
'secops'
>>> team("payments")["jira_assignee"]
'bob'
>>> account("000000000000") is None
True
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

__all__ = ["LOOKUPS", "account", "table", "team"]

LOOKUPS = Path(__file__).resolve().parent.parent / "detections" / "lookups"


@cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """The rows of ``<name>.csv`` (read once)."""
    with open(LOOKUPS / f"{name}.csv", newline="") as handle:
        return tuple(csv.DictReader(handle))


def _row(name: str, column: str, value: str) -> dict[str, str] | None:
    return next((dict(r) for r in table(name) if r[column] == str(value)), None)


def account(account_id: str) -> dict[str, str] | None:
    """The account table's row for an account id (aws_accounts.csv)."""
    return _row("aws_accounts", "account_id", account_id)


def team(name: str) -> dict[str, str] | None:
    """The teams table's row for a team (teams.csv): Jira component, assignee, Slack channel."""
    return _row("teams", "team", name)
