"""Account owner: the team, on-call, Slack channel and Jira component of the incident's account.

From the account table (``aws_accounts.csv``), the same table Splunk uses as a lookup.

>>> from helpers.incident import Incident
>>> account_owner(Incident("x", "r", "123456789012"), None)["team"]
'secops'
"""

from __future__ import annotations

from helpers.enrich import enricher, lookups


@enricher("account-owner", timeout=1.0)
def account_owner(incident, clients) -> dict:
    """The owning team of the AWS account (from the account table)."""
    row = lookups.account(incident.account)
    if row is None:
        return {"known": False, "reason": f"account {incident.account} is not in aws_accounts.csv"}
    return {"known": True, **row}
