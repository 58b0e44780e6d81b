"""Exercise 07: enrich an incident with the owner of its AWS account, from a Splunk lookup.

:func:`setup` uploads the practice account table (the lab's ``aws_accounts.csv`` plus a
payments account) to Splunk as the lookup ``exercise_accounts.csv``. :func:`check_enricher`
runs the student's enricher the way the automation server runs enrichers
(:func:`helpers.enrich.enrich`, each within its timeout) and routes the incidents with
:func:`helpers.delegation.route`.

>>> lookup = setup()                                                # doctest: +SKIP
>>> check_enricher(registry).passed                                 # doctest: +SKIP
True
"""

from __future__ import annotations

from helpers import delegation, enrich, splunk
from helpers.checks import Hint, check
from helpers.clients import Clients
from helpers.config import Settings
from helpers.enrich import lookups
from helpers.incident import Incident

__all__ = ["ENRICHER", "LOOKUP", "PAYMENTS_ACCOUNT", "check_enricher", "incident", "setup"]

LOOKUP = "exercise_accounts.csv"
#: The name delegation reads the owning team under (``helpers.delegation.OWNER_FACTS``).
ENRICHER = "account-owner"
PAYMENTS_ACCOUNT = "111122223333"
PAYMENTS = {
    "account_id": PAYMENTS_ACCOUNT,
    "account_name": "payments-prod",
    "environment": "production",
    "team": "payments",
    "owner": "payments@example.com",
    "oncall": "bob",
    "slack_channel": "#team-payments",
    "jira_component": "Payments",
}
UNKNOWN_ACCOUNT = "999988887777"
#: Account ids an alert could carry that are no account at all (a wildcard, a quote).
NOT_ACCOUNTS = ("*", '123456789012" OR account_id!="')


def setup(settings: Settings | None = None) -> str:
    """Upload the practice account table to Splunk; return the lookup's name."""
    rows = [*lookups.table("aws_accounts"), PAYMENTS]
    splunk.upload_lookup(LOOKUP, rows, service=splunk.connect(settings))
    return LOOKUP


def incident(account: str) -> Incident:
    """An incident in ``account`` (a security group opened to the world)."""
    return Incident("security-group-open-to-world", "sg-0123456789abcdef0", account, "high")


def _run(registry, account: str, clients: Clients) -> tuple[Incident, dict]:
    """Enrich an incident in ``account`` as the automation does; (incident, its facts)."""
    found = incident(account)
    results = enrich.enrich(found, clients, names=[ENRICHER], registry=registry)
    found.enrichment = results
    result = results[ENRICHER]
    if not result["ok"]:
        raise Hint(f"{ENRICHER} failed: {result['reason']}")
    return found, result["facts"]


def _problem(registry, account: str, clients: Clients, expected: dict | None) -> str | None:
    """What is wrong with the facts for ``account`` (``expected``: its table row, or None)."""
    try:
        _, facts = _run(registry, account, clients)
    except Hint as hint:
        return hint.lines[0]
    if expected is None:
        if facts.get("known") is not False or not facts.get("reason"):
            return (
                f"account {account!r} is not in the table: answer known=False with a reason, "
                "never another account's owner (check what an account id looks like first)"
            )
        return None
    wrong = " and ".join(k for k in ("team", "owner") if facts.get(k) != expected[k])
    if facts.get("known") is not True or wrong:
        return (
            f"account {account} is {expected['team']}'s (owner {expected['owner']}): say "
            f"known=True and give its {wrong or 'facts'}"
        )
    return None


@check
def check_enricher(registry) -> str:
    """Known accounts give their team and owner; unknown and malformed ones give a reason;
    delegation routes by the team."""
    if ENRICHER not in getattr(registry, "names", lambda: [])():
        raise Hint(f"register your enricher in the registry as {ENRICHER!r} (@enricher(...))")
    clients = Clients()
    cases = [(row["account_id"], row) for row in (lookups.table("aws_accounts")[0], PAYMENTS)]
    cases += [(account, None) for account in (UNKNOWN_ACCOUNT, *NOT_ACCOUNTS)]
    found = [p for account, row in cases if (p := _problem(registry, account, clients, row))]
    if found:
        raise Hint(*dict.fromkeys(found))  # the same failure for every account is said once
    routed, _ = _run(registry, PAYMENTS_ACCOUNT, clients)
    route = delegation.route(routed)
    if route.team != PAYMENTS["team"]:
        raise Hint(f"delegation routed the payments account to {route.team}: {route.reason}")
    nobody = delegation.route(_run(registry, UNKNOWN_ACCOUNT, clients)[0])
    return (
        f"the payments account goes to {route.team} ({route.assignee}, {route.channel}); an "
        f"unknown one to {nobody.team} with the reason"
    )
