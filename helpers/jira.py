"""Incident tickets in Jira through the official ``jira`` client: one ticket per dedup key.

The same code runs against the local world's Jira, Jira Data Center and Jira Cloud; settings
decide (``JIRA_URL``, ``JIRA_USER``, ``JIRA_TOKEN``, ``JIRA_PROJECT``). With ``JIRA_USER`` set the
client signs in with Basic auth (a Cloud API token or a DC password); without it ``JIRA_TOKEN``
is sent as a bearer token (a DC personal access token).

An incident is a :class:`helpers.incident.Incident`, or (for convenience) a detection's result
row or any mapping of incident fields, read with :func:`helpers.incident.as_incident`. Its
severity gives the priority (``Severity.jira_priority``); its dedup key is stored in the
``Dedup Key`` custom field (``JIRA_DEDUP_FIELD``; found by name, since field ids differ between
sites), so the same alert twice comments on the open ticket instead of opening a second one.

>>> from helpers import jira
>>> client = jira.connect()                                             # doctest: +SKIP
>>> ticket = jira.open_or_update_incident(incident, client=client)     # doctest: +SKIP
>>> jira.transition(ticket.key, "Start Progress", client=client)       # doctest: +SKIP
>>> jira.assign_to_team(ticket.key, "platform", client=client)         # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jira import JIRA, Issue, JIRAError

from helpers.config import MissingSetting, Settings, get_settings
from helpers.incident import Incident, as_incident, dedup_key
from helpers.runtime.locks import KeyLocks, process_locks

__all__ = [
    "WEBHOOK_EVENTS",
    "JiraHelperError",
    "Ticket",
    "as_rows",
    "assign_to_team",
    "comment",
    "connect",
    "dedup_key",
    "delete_webhook",
    "field_id",
    "field_value",
    "find_open_incident",
    "list_webhooks",
    "open_incidents",
    "open_or_update_incident",
    "register_webhook",
    "search",
    "ticket_url",
    "transition",
    "verify_signature",
]

#: Labels every incident ticket gets (detection ids are added per incident).
BASE_LABELS = ("security-incident",)
#: Optional custom fields filled when the site has them: incident attribute -> field name.
OPTIONAL_FIELDS = {"detection": "Detection", "account": "AWS Account"}
#: JQL for "not finished yet" that works on every site, whatever its workflow calls "done".
OPEN_JQL = "statusCategory != Done"
#: Events the lab's automation listens to.
WEBHOOK_EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created")
WEBHOOK_API = "/rest/webhooks/1.0/webhook"
MAX_EVIDENCE_CHARS = 20_000  # Jira's text fields hold 32767 characters
SUMMARY_LIMIT = SHORT_TEXT_LIMIT = 255  # Jira's limit for summaries and single-line fields


class JiraHelperError(RuntimeError):
    """Jira refused a request or the site lacks something the lab needs; the message says what."""


@dataclass(frozen=True)
class Ticket:
    """The ticket an incident went to; ``created`` is False when an open one was updated."""

    key: str
    url: str
    created: bool
    issue: Issue


# -- connection ------------------------------------------------------------------------------------


def connect(settings: Settings | None = None, max_retries: int = 3, **options: Any) -> JIRA:
    """A ``jira.JIRA`` client for the configured site (asks it for serverInfo once).

    >>> client = connect()                                                # doctest: +SKIP
    >>> [p.key for p in client.projects()]                                # doctest: +SKIP
    ['SEC']
    """
    settings = settings or get_settings()
    url = settings.require("jira_url", "the Jira base URL")
    token = settings.require("jira_token", "a Jira API token or personal access token")
    auth: dict[str, Any] = (
        {"basic_auth": (settings.jira_user, token)} if settings.jira_user else {"token_auth": token}
    )
    try:
        return JIRA(url, max_retries=max_retries, **auth, **options)
    except JIRAError as err:
        raise JiraHelperError(f"cannot connect to Jira at {url}: {_reason(err)}") from err


def _reason(err: JIRAError) -> str:
    return f"HTTP {err.status_code}: {err.text}" if err.status_code else str(err.text)


def ticket_url(key: str, settings: Settings | None = None) -> str:
    """The browser link of a ticket (the same ``/browse/KEY`` path on every Jira).

    >>> ticket_url("SEC-1", Settings(jira_url="http://127.0.0.1:8081"))
    'http://127.0.0.1:8081/browse/SEC-1'
    """
    settings = settings or get_settings()
    return f"{settings.require('jira_url').rstrip('/')}/browse/{key}"


#: Seconds a client's field list is reused (field ids change only when an admin edits them).
FIELDS_TTL = 300.0
_FIELDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fields_by_name(client: JIRA) -> dict[str, list[str]]:
    """Field ids by lower-case name, asked of Jira at most every ``FIELDS_TTL`` seconds."""
    cached = _FIELDS.get(client)
    if cached is not None and time.monotonic() - cached[0] < FIELDS_TTL:
        return cached[1]
    by_name: dict[str, list[str]] = {}
    for f in client.fields():
        by_name.setdefault(f["name"].lower(), []).append(f["id"])
    _FIELDS[client] = (time.monotonic(), by_name)
    return by_name


def field_id(client: JIRA, name: str, by_name: Mapping[str, list[str]] | None = None) -> str:
    """The id (``customfield_NNNNN``) of the field called ``name`` on this site."""
    matches = (by_name if by_name is not None else _fields_by_name(client)).get(name.lower(), [])
    if len(matches) != 1:
        found = "no field" if not matches else f"{len(matches)} fields"
        raise JiraHelperError(
            f"the Jira site has {found} named {name!r}; create one text custom field with that "
            "name (or set JIRA_DEDUP_FIELD to the name of yours)"
        )
    return matches[0]


# -- incidents -------------------------------------------------------------------------------------


def _label(text: str) -> str:
    """A valid Jira label (no spaces)."""
    return re.sub(r"\s+", "-", str(text).strip())[:255]


def _labels(incident: Incident) -> list[str]:
    labels = [*BASE_LABELS, _label(incident.detection)]
    labels += [_label(x) for x in incident.enrichment.get("labels") or () if str(x).strip()]
    return list(dict.fromkeys(labels))


def _summary(incident: Incident) -> str:
    text = incident.summary if incident.resource != "-" else " ".join(incident.title.split())
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _facts(incident: Incident) -> list[tuple[str, Any]]:
    rows = [
        ("Detection", incident.detection),
        ("Severity", incident.severity.value),
        ("Resource", incident.resource),
        ("Account", incident.account),
        ("Account owner", incident.enrichment.get("account_owner")),
        ("Actor", incident.actor),
        ("Source IP", incident.source_ip),
        ("Region", incident.region),
        ("Event time", incident.event_time),
    ]
    return [(k, v) for k, v in rows if v not in (None, "", "-")]


def _evidence(incident: Incident) -> str:
    if not incident.evidence:
        return ""
    text = json.dumps(incident.evidence, indent=2, default=str)
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[:MAX_EVIDENCE_CHARS] + "\n... (truncated)"
    return "h3. Evidence\n{code:json}\n" + text + "\n{code}\n"


def describe(incident: Any) -> str:
    """The ticket description (Jira wiki markup): what, where, who, and the evidence.

    >>> print(describe({"detection": "guardduty-disabled", "resource": "d-1", "account": "1",
    ...                 "severity": "info"}).splitlines()[2])
    * *Severity:* informational
    """
    incident = as_incident(incident)
    parts = [incident.details + "\n"] if incident.details else []
    parts.append("h3. Incident")
    parts += [f"* *{k}:* {v}" for k, v in _facts(incident)]
    parts.append(f"* *Dedup key:* {{{{{incident.dedup_key}}}}}\n")
    evidence = _evidence(incident)
    if evidence:
        parts.append(evidence)
    return "\n".join(parts)


def _repeat_comment(incident: Incident, reopened: bool = False) -> str:
    facts = ", ".join(f"{k}: {v}" for k, v in _facts(incident) if k in ("Actor", "Event time"))
    text = "The detection fired again for this incident" + (f" ({facts})" if facts else "")
    text += "; the ticket is reopened." if reopened else "."
    evidence = _evidence(incident)
    return text + ("\n\n" + evidence if evidence else "")


def field_value(key: str) -> str:
    """The dedup key as stored in the (single-line, 255 character) custom field.

    Longer keys keep a readable prefix and a hash of the whole key, so they stay unique.

    >>> field_value("short:key")
    'short:key'
    >>> len(field_value("x" * 400))
    255
    """
    if len(key) <= SHORT_TEXT_LIMIT:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key[: SHORT_TEXT_LIMIT - len(digest) - 1] + "#" + digest


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def find_open_incident(
    key: str, client: JIRA, settings: Settings | None = None, field: str | None = None
) -> Issue | None:
    """The oldest unfinished ticket whose dedup-key field (id ``field``) holds ``key``, if any."""
    return next(iter(open_incidents(key, client, settings, field)), None)


def open_incidents(
    key: str, client: JIRA, settings: Settings | None = None, field: str | None = None
) -> list[Issue]:
    """Every unfinished ticket whose dedup-key field (id ``field``) holds ``key``, oldest first
    (more than one means something opened a duplicate).

    Text custom fields only support ``~`` in JQL, so this searches for the key's words as a
    phrase and keeps exact matches.
    """
    return _incidents(key, client, settings, field, f"{OPEN_JQL} ORDER BY created ASC")


def recently_resolved_incident(
    key: str, client: JIRA, settings: Settings | None = None, field: str | None = None
) -> Issue | None:
    """The ticket with this dedup key resolved most recently, within ``JIRA_REOPEN_DAYS``."""
    settings = settings or get_settings()
    if settings.jira_reopen_days <= 0:
        return None
    done = f"statusCategory = Done AND resolved >= -{settings.jira_reopen_days}d"
    found = _incidents(key, client, settings, field, f"{done} ORDER BY resolved DESC")
    return found[0] if found else None


def _incidents(
    key: str, client: JIRA, settings: Settings | None, field: str | None, status: str
) -> list[Issue]:
    settings = settings or get_settings()
    project = settings.require("jira_project", "the Jira project key")
    fid = field or field_id(client, settings.jira_dedup_field)
    value = field_value(key)
    clause_name = f"cf[{fid.removeprefix('customfield_')}]"
    words = " ".join(re.findall(r"[A-Za-z0-9]+", value))
    if words:  # a phrase search: the value itself is quoted inside the JQL string
        phrase = f'"{words}"'
        clause = f'{clause_name} ~ "{_quote(phrase)}"'
    else:
        clause = f"{clause_name} is not EMPTY"
    jql = f'project = "{_quote(project)}" AND {clause} AND {status}'
    return [
        i
        for i in search(jql, client=client, max_results=100)
        if getattr(i.fields, fid, None) == value
    ]


def open_or_update_incident(
    incident: Any,
    client: JIRA | None = None,
    settings: Settings | None = None,
    *,
    locks: KeyLocks | None = None,
    repeat_comment: bool = True,
) -> Ticket:
    """Comment on the open ticket with the incident's dedup key, or open a new ticket.

    ``repeat_comment=False`` finds the open ticket without commenting on it (a retry that only
    needs to know whether its earlier attempt already made the ticket).

    ``incident`` is an :class:`~helpers.incident.Incident` or a mapping of its fields. A new
    ticket gets the summary, a description with the evidence, labels, the priority for the
    severity, the dedup key, and the ``Detection``/``AWS Account`` fields if the site has them.
    Calls for one dedup key are serialised through ``locks`` (default: one set per process; the
    automation server passes its own), so two alerts racing here make one ticket.

    >>> incident = {"detection": "s3_public", "resource": "lab-data", "account": "123456789012",
    ...             "severity": "high", "evidence": [{"eventName": "PutBucketAcl"}]}
    >>> ticket = open_or_update_incident(incident)                        # doctest: +SKIP
    >>> ticket.key, ticket.created                                        # doctest: +SKIP
    ('SEC-1', True)
    """
    settings = settings or get_settings()
    client = client or connect(settings)
    incident = as_incident(incident)
    with (process_locks if locks is None else locks).hold(f"jira:{incident.dedup_key}"):
        return _open_or_update(incident, client, settings, repeat_comment)


def _open_or_update(
    incident: Incident, client: JIRA, settings: Settings, repeat_comment: bool = True
) -> Ticket:
    key = incident.dedup_key
    try:
        by_name = _fields_by_name(client)
        dedup_id = field_id(client, settings.jira_dedup_field, by_name)
        existing = find_open_incident(key, client, settings, dedup_id)
        if existing is None:
            # The same incident, resolved lately, fires again: its ticket is reopened (as the
            # automation server reopens its incident) rather than a second one opened, whether
            # or not the caller remembers the ticket (a Lambda does not).
            existing = recently_resolved_incident(key, client, settings, dedup_id)
            if existing is not None:
                transition(existing.key, "To Do", client=client)
                client.add_comment(existing.key, _repeat_comment(incident, reopened=True))
                return Ticket(existing.key, ticket_url(existing.key, settings), False, existing)
        if existing is not None:
            if repeat_comment:
                client.add_comment(existing.key, _repeat_comment(incident))
            return Ticket(existing.key, ticket_url(existing.key, settings), False, existing)
        fields: dict[str, Any] = {
            "project": {"key": settings.require("jira_project", "the Jira project key")},
            "summary": _summary(incident),
            "description": describe(incident),
            "issuetype": {"name": settings.jira_issue_type},
            "labels": _labels(incident),
            "priority": {"name": incident.severity.jira_priority},
            dedup_id: field_value(key),
        }
        for attr, name in OPTIONAL_FIELDS.items():
            value = getattr(incident, attr)
            ids = by_name.get(name.lower(), [])
            if value not in ("", "-") and len(ids) == 1:
                fields[ids[0]] = str(value)
        issue = client.create_issue(fields=fields)
    except JIRAError as err:
        raise JiraHelperError(f"Jira refused the incident {key!r}: {_reason(err)}") from err
    return Ticket(issue.key, ticket_url(issue.key, settings), True, issue)


# -- ticket operations -----------------------------------------------------------------------------


def _client(client: JIRA | None) -> JIRA:
    return client or connect()


def _key(ticket: Any) -> str:
    return ticket if isinstance(ticket, str) else ticket.key


def comment(ticket: Any, text: str, client: JIRA | None = None):
    """Add a comment (Jira wiki markup) to a ticket (a key, an Issue or a ``Ticket``)."""
    try:
        return _client(client).add_comment(_key(ticket), text)
    except JIRAError as err:
        raise JiraHelperError(f"cannot comment on {_key(ticket)}: {_reason(err)}") from err


def transition(
    ticket: Any,
    name: str,
    client: JIRA | None = None,
    comment: str | None = None,
    resolution: str | None = None,
) -> str:
    """Move a ticket by transition name (``"Start Progress"``) or target status (``"Done"``).

    Returns the new status. Unknown names raise ``JiraHelperError`` listing the choices.
    """
    client = _client(client)
    key = _key(ticket)
    try:
        choices = client.transitions(key)
        wanted = name.strip().lower()
        match = next((t for t in choices if t["name"].lower() == wanted), None) or next(
            (t for t in choices if t["to"]["name"].lower() == wanted), None
        )
        if match is None:
            offered = ", ".join(f"{t['name']} (-> {t['to']['name']})" for t in choices)
            raise JiraHelperError(f"{key} has no transition {name!r}; it offers: {offered}")
        fields = {"resolution": {"name": resolution}} if resolution else None
        client.transition_issue(key, match["id"], fields=fields, comment=comment)
    except JIRAError as err:
        raise JiraHelperError(f"cannot move {key} with {name!r}: {_reason(err)}") from err
    return match["to"]["name"]


def assign_to_team(
    ticket: Any,
    team: str,
    client: JIRA | None = None,
    owners: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> str:
    """Assign a ticket to the owner of ``team`` (``JIRA_TEAM_OWNERS``); returns the owner."""
    owners = owners if owners is not None else (settings or get_settings()).jira_team_owners
    if not owners:
        raise MissingSetting("JIRA_TEAM_OWNERS", 'team owners as JSON, e.g. {"platform": "alice"}')
    owner = owners.get(team)
    if owner is None:
        raise JiraHelperError(
            f"team {team!r} has no owner in JIRA_TEAM_OWNERS (teams: {', '.join(sorted(owners))})"
        )
    try:
        _client(client).assign_issue(_key(ticket), owner)
    except JIRAError as err:
        raise JiraHelperError(f"cannot assign {_key(ticket)} to {owner}: {_reason(err)}") from err
    return owner


def search(jql: str, client: JIRA | None = None, max_results: int = 50) -> list[Issue]:
    """Issues matching ``jql`` (Jira's own error message on bad JQL)."""
    try:
        return list(_client(client).search_issues(jql, maxResults=max_results))
    except JIRAError as err:
        raise JiraHelperError(f"Jira rejected the query {jql!r}: {_reason(err)}") from err


def as_rows(issues: Iterable[Issue]) -> list[dict]:
    """One flat dict per issue (key, summary, status, priority, assignee, labels), for tables.

    >>> import pandas as pd; pd.DataFrame(as_rows(search("project = SEC")))  # doctest: +SKIP
    """
    rows = []
    for issue in issues:
        f = issue.fields
        rows.append(
            {
                "key": issue.key,
                "summary": f.summary,
                "status": f.status.name,
                "priority": f.priority.name if f.priority else None,
                "assignee": f.assignee.displayName if f.assignee else None,
                "labels": ", ".join(f.labels),
                "created": f.created,
            }
        )
    return rows


# -- webhooks --------------------------------------------------------------------------------------


def _webhook_call(client: JIRA, method: str, path: str = "", body: dict | None = None):
    url = client.server_url.rstrip("/") + WEBHOOK_API + path
    try:
        resp = client._session.request(method, url, data=json.dumps(body) if body else None)
    except JIRAError as err:
        raise JiraHelperError(f"the webhook API refused {method} {url}: {_reason(err)}") from err
    return resp.json() if resp.content else None


def list_webhooks(client: JIRA | None = None) -> list[dict]:
    """Registered webhooks (needs a Jira administrator)."""
    return _webhook_call(_client(client), "GET")


def register_webhook(
    url: str,
    events: Iterable[str] = WEBHOOK_EVENTS,
    jql: str | None = None,
    name: str = "lab-automation",
    secret: str | None = None,
    client: JIRA | None = None,
) -> dict:
    """Register (or update, when one with this name and URL exists) a webhook; returns it.

    ``secret`` makes Jira sign deliveries (``X-Hub-Signature: sha256=...``); check them with
    :func:`verify_signature` (``helpers.receivers.JiraWebhookReceiver`` does).
    """
    client = _client(client)
    body: dict[str, Any] = {
        "name": name,
        "url": url,
        "events": list(events),
        "filters": {"issue-related-events-section": jql or ""},
        "excludeBody": False,
    }
    if secret:
        body["secret"] = secret
    for hook in list_webhooks(client):
        if hook.get("name") == name and hook.get("url") == url:
            hook_id = hook["self"].rstrip("/").rsplit("/", 1)[-1]
            return _webhook_call(client, "PUT", f"/{hook_id}", body)
    return _webhook_call(client, "POST", "", body)


def delete_webhook(hook: dict | str | int, client: JIRA | None = None) -> None:
    """Remove a webhook given as its id or as the dict ``register_webhook`` returned."""
    hook_id = hook["self"].rstrip("/").rsplit("/", 1)[-1] if isinstance(hook, dict) else hook
    _webhook_call(_client(client), "DELETE", f"/{hook_id}")


def verify_signature(body: bytes, signature: str | None, secret: str) -> bool:
    """True when ``signature`` (the ``X-Hub-Signature`` header) signs ``body`` with ``secret``.

    >>> import hashlib, hmac
    >>> sig = "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
    >>> verify_signature(b"{}", sig, "s"), verify_signature(b"{}", "sha256=00", "s")
    (True, False)
    """
    if not signature or not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.removeprefix("sha256="), expected)
