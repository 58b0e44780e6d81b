"""The automation's work: every way in lands here, one idempotent step at a time.

:class:`Automation` handles the items the ways in put on the inbox queue:

- ``alert`` (Splunk webhook, the SNS alert action, the Lambda): one incident per dedup key,
  then its ticket and its Slack thread (found by dedup key before anything is created);
- ``jira`` (a ticket was created): enrich, plan, apply the guardrails, then remediate and verify,
  or ask for approval;
- ``slack-action`` / ``slack-command``: Approve / Deny, ``/secbot status|approve|deny|sweep``;
- ``respond`` (internal): answer an incident again (reopened, approved).

Each step is recorded in the :class:`~helpers.automation.store.Store` before the next starts, and
the notes a step owes the ticket and the thread are sent afterwards from the store, so a retry
after a crash resumes where the work stopped without a second ticket, message or action.

>>> automation = Automation(store, inbox, tickets=JiraTickets(), chat=SlackChat())  # doctest: +SKIP
>>> automation.handle(message)                                                      # doctest: +SKIP
'1 incident(s): security-group-open-to-world:sg-0123:123456789012'
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from helpers import delegation, detections, playbooks
from helpers import enrich as enrichers
from helpers.automation.lifecycle import JIRA_STATUS
from helpers.automation.outputs import JiraTickets, SlackChat, SplunkResults, TicketRef
from helpers.automation.store import Store
from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Change, Plan
from helpers.playbooks.guardrails import Policy, decide
from helpers.runtime.locks import KeyLocks
from helpers.runtime.queue import Message, Permanent, Queue, Retry
from helpers.runtime.registry import UnknownError
from helpers.slack import escape as slack_escape

__all__ = ["ACTION_APPROVE", "ACTION_DENY", "Automation"]

log = logging.getLogger("helpers.automation")

ACTION_APPROVE = "approve_remediation"
ACTION_DENY = "deny_remediation"
#: Tries to find the incident of a Jira webhook that raced ahead of recording its ticket.
JIRA_LOOKUP_ATTEMPTS = 6
#: Seconds a ticketed incident waits for Jira's "created" callback before responding anyway.
JIRA_GRACE = 60.0


class Automation:
    """The incident engine; the server, the SNS consumer and the Lambda share one instance."""

    def __init__(
        self,
        store: Store,
        inbox: Queue,
        *,
        tickets: JiraTickets | None = None,
        chat: SlackChat | None = None,
        results: SplunkResults | None = None,
        clients: Clients | None = None,
        policy: Policy | None = None,
        local: bool = True,
        respond_on: str = "jira",
        sweep: Callable[[], list[dict]] | None = None,
        locks: KeyLocks | None = None,
        clock: Callable[[], float] = time.time,
        jira_grace: float = JIRA_GRACE,
    ):
        self.store = store
        self.inbox = inbox
        self.tickets = tickets
        self.chat = chat
        self.results = results
        self.clients = clients or Clients()
        self.policy = policy or self.clients.policy
        self.local = local
        self.respond_on = respond_on
        self.sweep = sweep
        self.clock = clock
        self.jira_grace = jira_grace
        # One lock per incident, shared with the outputs so Jira and Slack calls nest in it.
        self.locks = locks or getattr(tickets, "locks", None) or KeyLocks()

    # -- ways in ---------------------------------------------------------------------------------
    def accept(self, item: dict) -> int:
        """Persist an item from a way in (durable when this returns); the workers take it."""
        return self.inbox.put(item, key=item.get("kind"))

    def handle(self, message: Message) -> str:
        """The inbox worker's handler: one item, idempotently."""
        return self.process(message.body, attempts=message.attempts)

    def process(self, item: dict, attempts: int = 1) -> str:
        kind = item.get("kind")
        if kind == "alert":
            return self.on_alert(item)
        if kind == "jira":
            return self.on_jira(item, attempts)
        if kind == "slack-action":
            return self.on_slack_action(item)
        if kind == "slack-command":
            return self.on_command(item)
        if kind == "respond":
            return self.respond(item["dedup_key"])
        if kind == "sweep":
            return self.on_sweep(item)
        raise Permanent(f"unknown item kind {kind!r}")

    # -- alerts ----------------------------------------------------------------------------------
    def on_alert(self, alert: dict) -> str:
        rows, note = self.results.rows(alert) if self.results else (alert["rows"], "")
        incidents: dict[str, Incident] = {}
        for row in rows:
            incident = Incident.from_result(row, title=_title(row, alert))
            if incident.dedup_key in incidents:
                incidents[incident.dedup_key].evidence += incident.evidence
            else:
                incidents[incident.dedup_key] = incident
        for key, incident in incidents.items():
            with self.locks.hold(key):
                got = self.store.receive(incident, sid=f"{alert['source']}:{alert['sid']}")
                if got.new:
                    self.store.record(key, "source", _source_text(alert), notes=False)
                    if note:
                        self.store.record(key, "evidence", note, notes=False)
                self.settle(key)
            if got.reopened or (got.new and self.respond_on == "alert") or self._jira_overdue(key):
                self.respond(key)
        return f"{len(incidents)} incident(s): " + ", ".join(incidents)

    def settle(self, key: str) -> None:
        """Make sure the incident has its ticket and thread, then send the notes it owes them."""
        row = self.store.get(key)
        incident = self.store.incident(key)
        ticket = _ticket(row)
        if self.tickets is not None and ticket is None:
            ticket = self.tickets.ensure(incident)
            self.store.set_ticket(key, ticket.key, ticket.url, ticket.created)
            row = self.store.get(key)
        elif self.tickets is None and row["state"] == "received":
            self.store.move(
                key, "ticketed", "No ticket system configured (JIRA_URL unset)", notes=False
            )
        if self.chat is not None and not row["slack"]:
            channel, ts = self.chat.open_thread(incident, ticket, since=row["created"] - 60)
            self.store.set_thread(key, channel, ts)
            row = self.store.get(key)
        self._send_notes(key, row, incident, ticket)

    def _send_notes(self, key: str, row: dict, incident: Incident, ticket: TicketRef | None):
        for note in self.store.pending_notes(key, "jira"):
            if self.tickets is not None and ticket is not None:
                self.tickets.comment(ticket.key, note["text"])
                status = JIRA_STATUS.get(note["data"].get("state", ""))
                if status and self.tickets.move(ticket.key, status) is None:
                    log.info("%s: the workflow offers no way to %s", ticket.key, status)
            self.store.note_sent(note["id"])
        for note in self.store.pending_notes(key, "slack"):
            slack = row["slack"]
            if self.chat is not None and slack:
                if note["data"].get("approval"):
                    self.chat.ask_approval(incident, note["data"]["approval"], note["text"], ticket)
                else:
                    self.chat.reply(slack["channel"], slack["ts"], note["text"])
            self.store.note_sent(note["id"])

    # -- Jira ------------------------------------------------------------------------------------
    def on_jira(self, event: dict, attempts: int = 1) -> str:
        if event["event"] == "jira:issue_updated":
            return self._jira_approval(event)
        if event["event"] != "jira:issue_created":
            return f"{event['event']} on {event['ticket']}: nothing to do"
        key = self.store.by_ticket(event["ticket"])
        if key is None:
            # The webhook can arrive before the worker that created the ticket recorded it.
            if attempts < JIRA_LOOKUP_ATTEMPTS:
                raise Retry(f"no incident has ticket {event['ticket']} yet", after=0.5)
            return f"{event['ticket']} is not an incident ticket"
        return self.respond(key)

    def _jira_approval(self, event: dict) -> str:
        """A person's Approve (Waiting for approval -> In Progress) or Reject (-> To Do) in Jira.

        Only a status change in the webhook's changelog counts, so the automation's own comments
        and transitions never read as a decision.
        """
        nothing = f"{event['ticket']} updated: nothing to do"
        if self.tickets is not None and event.get("user") == self.tickets.user:
            return nothing  # our own transitions and comments
        if event.get("status_from") != "Waiting for approval":
            return nothing
        if event.get("status_to") not in ("In Progress", "To Do"):
            return nothing
        key = self.store.by_ticket(event["ticket"])
        row = self.store.get(key) if key else None
        if row is None or row["state"] != "waiting_for_approval":
            return nothing
        who = f"{event.get('user') or 'someone'} (in Jira)"
        return self.decide_approval(key, event["status_to"] == "In Progress", who)

    # -- the response: enrich, plan, guard, remediate, verify -------------------------------------
    def respond(self, key: str) -> str:
        """Move the incident as far as it can go now; safe to call again at any point."""
        with self.locks.hold(key):
            self.settle(key)
            state = self.store.get(key)["state"]
            if state == "received":
                raise Retry(f"{key} has no ticket yet")
            if state == "ticketed":
                self._enrich(key)
                state = "enriched"
            if state == "enriched":
                state = self._plan(key)
            if state == "remediating":
                state = self._remediate(key)
            self.settle(key)
            return f"{key}: {state}"

    def _enrich(self, key: str) -> None:
        incident = self.store.incident(key)
        results = enrichers.enrich(incident, self.clients)
        incident.enrichment = results
        self.store.update_incident(incident)
        failed = [n for n, r in results.items() if not r["ok"]]
        route = self._delegate(key, incident)
        text = (
            "Enriched:\n" + (enrichers.summary(results) or "no enrichers registered")
            + "\n" + route.describe()
        )  # fmt: skip
        self.store.move(
            key,
            "enriched",
            text,
            {"enrichment": results, "unknown": failed, "route": route.as_dict()},
        )

    def _delegate(self, key: str, incident: Incident) -> delegation.Route:
        """Hand the incident to its owning team: the ticket's component and assignee, a message
        in the team's channel (on-call mentioned when the severity calls for it)."""
        route = delegation.route(incident)
        row = self.store.get(key)
        problems = []
        if self.tickets is not None and row["ticket"]:
            problems = self.tickets.delegate(row["ticket"], route.jira_component, route.assignee)
        security = self.chat.settings.slack_channel if self.chat is not None else ""
        if self.chat is not None and route.channel and route.channel != security:
            mention = f"@{route.mention} (on-call) " if route.mention else ""
            link = f"<{row['ticket_url']}|{row['ticket']}>" if row["ticket_url"] else "no ticket"
            summary = slack_escape(f"{incident.summary} is yours ({route.reason})")
            text = f"{mention}{incident.severity.emoji} {summary}: {link}"
            self.chat.post(route.channel, text)
        if problems:
            self.store.record(key, "routing", "Could not route fully: " + "; ".join(problems))
        return route

    def _plan(self, key: str) -> str:
        incident = self.store.incident(key)
        try:
            book = playbooks.get(incident.playbook or "notify-only")
        except UnknownError:
            self.store.move(
                key,
                "planned",
                f"No playbook {incident.playbook!r} is registered: a person decides.",
                {"playbook": incident.playbook},
            )
            return "planned"
        try:
            plan = book.plan(incident, self.clients)
        except Exception as err:
            self.store.move(key, "failed", f"Planning {book.name} failed: {err}")
            return "failed"
        recent = self.store.actions_since(book.name, self.clock() - 3600)
        decision = decide(self.policy, plan, local=self.local, recent_actions=recent)
        action = self.store.add_action(key, book.name, decision.mode, plan.as_dict())
        text = f"Plan ({book.name}, {decision.mode}: {decision.reason}):\n{plan.describe()}"
        self.store.move(key, "planned", text, {"plan": plan.as_dict(), "mode": decision.mode})
        if decision.mode == "exempt":
            self.store.update_action(action, status="exempt")
            self.store.move(key, "exempt", f"Not changed: {decision.reason}")
            return "exempt"
        if decision.mode == "nothing":
            return self._verify(key, action, book, incident, before=True)
        if decision.mode in ("notify", "dry-run"):
            self.store.update_action(action, status=decision.mode)
            return "planned"
        if decision.mode == "approve":
            self.store.update_action(action, status="waiting")
            self.store.move(
                key,
                "waiting_for_approval",
                f"Approval needed: {plan.describe()}",
                {"reason": decision.reason},
            )
            self.store.ask_approval(key, _one_line(plan), decision.reason)
            return "waiting_for_approval"
        if decision.delay:
            # Let infrastructure-as-code finish first; the worker and the incident's lock are not
            # held meanwhile: a "respond" item comes back after the delay and applies the plan.
            self.store.move(key, "remediating", f"Remediating in {decision.delay:.0f}s "
                            f"({decision.reason}; the policy's delay)")  # fmt: skip
            self.inbox.put({"kind": "respond", "dedup_key": key}, key="respond",
                           delay=decision.delay)  # fmt: skip
            return "delayed"
        self.store.move(key, "remediating", f"Remediating automatically ({decision.reason})")
        return "remediating"

    def _remediate(self, key: str) -> str:
        incident = self.store.incident(key)
        action = self.store.last_action(key)
        book = playbooks.get(action["playbook"])
        plan = book.plan(incident, self.clients)  # again: the world may have changed since
        if plan.exempt:
            self.store.update_action(action["id"], status="exempt")
            self.store.move(key, "failed", f"Not changed: {plan.exempt}")
            return "failed"
        if plan.changes:
            try:
                result = book.apply(plan, self.clients)
            except Exception as err:
                self.store.update_action(action["id"], status="failed", result={"error": str(err)})
                self.store.move(key, "failed", f"{book.name} failed: {err}")
                return "failed"
            rollback = [c.command() for c in plan.rollback]
            self.store.update_action(
                action["id"],
                status="applied",
                result=result,
                rollback={"calls": [c.__dict__ for c in plan.rollback], "commands": rollback},
            )
            self.store.record(
                key, "applied", f"Applied {book.name}:\n{plan.describe()}", {"result": result}
            )
        return self._verify(key, action["id"], book, incident)

    def _verify(self, key, action_id, book, incident, before: bool = False) -> str:
        check = book.verify(incident, self.clients)
        self.store.update_action(
            action_id, verified=check.ok, status="verified" if check.ok else "failed"
        )
        if check.ok:
            prefix = "Nothing to do, and verified" if before else "Verified"
            self.store.move(
                key, "verified", f"{prefix}: {check.details}", {"observed": check.observed}
            )
            return "verified"
        if before:
            self.store.move(key, "dismissed", f"Nothing to do: {check.details}")
            return "dismissed"
        self.store.move(
            key, "failed", f"Verification failed: {check.details}", {"observed": check.observed}
        )
        return "failed"

    # -- approvals -------------------------------------------------------------------------------
    def decide_approval(self, key: str, approved: bool, user: str) -> str:
        """Carry out an Approve or Deny for an incident waiting for approval."""
        with self.locks.hold(key):
            row = self.store.get(key)
            if row is None:
                return f"no incident {key}"
            if row["state"] != "waiting_for_approval":
                return f"{key} is {row['state']}, not waiting for approval"
            action = self.store.last_action(key)
            if approved:
                self.store.update_action(action["id"], approved_by=user, status="approved")
                self.store.move(key, "remediating", f"Approved by {user}")
            else:
                self.store.update_action(action["id"], approved_by=user, status="denied")
                self.store.move(key, "dismissed", f"Denied by {user}: nothing changed")
        return self.respond(key)

    def on_slack_action(self, item: dict) -> str:
        if item["action_id"] not in (ACTION_APPROVE, ACTION_DENY):
            return f"ignored action {item['action_id']}"
        approved = item["action_id"] == ACTION_APPROVE
        result = self.decide_approval(item["dedup_key"], approved, item["user"])
        if item.get("response_url") and self.chat is not None:
            verb = "Approved" if approved else "Denied"
            self.chat.respond(item["response_url"], f"{verb} by {item['user']}: {result}")
        return result

    # -- the Slack bot ---------------------------------------------------------------------------
    def status_text(self, ref: str) -> str:
        """A one-paragraph status for a dedup key or a ticket key (the ``status`` command)."""
        key = self.store.by_ticket(ref) or ref
        row = self.store.get(key)
        if row is None:
            return f"No incident {ref!r}. Try a ticket key (SEC-1) or a dedup key."
        steps = row["timeline"][-3:]
        recent = "; ".join(f"{s['state']}: {s['text'].splitlines()[0]}" for s in steps)
        return (
            f"*{row['title']}* on `{row['resource']}` ({row['account']}): *{row['state']}*, "
            f"ticket {row['ticket'] or 'none'}. Recent: {recent}"
        )

    def on_command(self, item: dict) -> str:
        verb, args = item["verb"], item["args"]
        if verb in ("approve", "deny"):
            if not args:
                text = f"usage: {item['command']} {verb} <ticket or dedup key>"
            else:
                key = self.store.by_ticket(args[0]) or args[0]
                text = self.decide_approval(key, verb == "approve", item["user"])
        elif verb == "status":
            text = self.status_text(args[0]) if args else self.summary_text()
        elif verb == "sweep":
            text = self.on_sweep(item)
        else:
            text = "commands: status [key], approve <key>, deny <key>, sweep"
        if item.get("response_url") and self.chat is not None:
            self.chat.respond(item["response_url"], text)
        return text

    def summary_text(self) -> str:
        counts = self.store.counts()
        return "Incidents: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none")

    def on_sweep(self, item: dict) -> str:
        """Hand world-open security groups to the alert path: the rows a sweep job found
        (``item["rows"]``), else what this server's own sweep finds now."""
        if "rows" in item:
            rows = item["rows"]
        elif self.sweep is None:
            return "no sweep is configured"
        else:
            rows = self.sweep()
        if rows:
            self.on_alert(
                {
                    "kind": "alert",
                    "source": "sweep",
                    "sid": f"sweep_{int(self.clock())}",
                    "search_name": item.get("source") or "sweep",
                    "rows": rows,
                }
            )
        return f"sweep found {len(rows)} world-open rule(s)"

    def rollback(self, key: str, who: str) -> str:
        """Undo the incident's last applied action with its rollback record."""
        with self.locks.hold(key):
            row = self.store.get(key)
            if row is None:
                raise KeyError(f"no incident {key!r}")
            applied = [a for a in row["actions"] if a["rollback"].get("calls")]
            if not applied:
                return f"{key}: no applied action to roll back"
            action = applied[-1]
            if action["status"] == "rolled-back":
                return f"{key}: action {action['id']} was already rolled back"
            book = playbooks.get(action["playbook"])
            plan = Plan(
                action["playbook"],
                row["resource"],
                changes=[Change(**c) for c in action["rollback"]["calls"]],
            )
            result = book.apply(plan, self.clients)
            self.store.update_action(action["id"], status="rolled-back")
            commands = "; ".join(action["rollback"]["commands"])
            self.store.move(
                key, "dismissed", f"Rolled back by {who}: {commands}", {"result": result}
            )
            self.settle(key)
        return f"{key}: rolled back ({commands})"

    def _jira_overdue(self, key: str) -> bool:
        """Ticketed and waiting for Jira's "created" callback longer than ``jira_grace``: the
        webhook was registered late, or Jira lost it. The response goes ahead without it."""
        row = self.store.get(key)
        if self.respond_on != "jira" or row is None or row["state"] != "ticketed":
            return False
        ticketed = [s["at"] for s in row["timeline"] if s["step"] == "ticketed"]  # the move
        if not ticketed or self.clock() - ticketed[-1] < self.jira_grace:
            return False
        self.store.record(key, "jira-overdue", f"Jira did not call back within "
                          f"{self.jira_grace:.0f}s; responding without its webhook")  # fmt: skip
        return True

    def respond_overdue(self) -> list[str]:
        """Respond to every incident whose Jira callback is overdue (periodic upkeep)."""
        done = []
        for row in self.store.list(state="ticketed", limit=1000):
            with self.locks.hold(row["dedup_key"]):
                overdue = self._jira_overdue(row["dedup_key"])
            if overdue:
                self.respond(row["dedup_key"])
                done.append(row["dedup_key"])
        return done

    def expire_approvals(self) -> list[str]:
        """Deny approval requests older than the policy's ``approval_expiry``."""
        expired = []
        cutoff = self.clock() - self.policy.approval_expiry
        for row in self.store.list(state="waiting_for_approval", limit=1000):
            if row["updated"] < cutoff:
                self.decide_approval(row["dedup_key"], False, "nobody (the request expired)")
                expired.append(row["dedup_key"])
        return expired


def _one_line(plan: Plan) -> str:
    calls = "; ".join(c.description for c in plan.changes) or plan.playbook
    return f"{plan.playbook} on {plan.resource}: {calls}"[:300]


def _ticket(row: dict) -> TicketRef | None:
    return TicketRef(row["ticket"], row["ticket_url"] or "", False) if row["ticket"] else None


@functools.cache
def _catalog_titles() -> dict[str, str]:
    return {d.id: d.title for d in detections.load()}


def _title(row: dict[str, Any], alert: dict) -> str:
    """The detection's own title (the catalog's), else what the alert calls itself."""
    detection = str(row.get("detection") or "")
    known = _catalog_titles().get(detection)
    return str(row.get("title") or known or alert.get("search_name") or detection)


def _source_text(alert: dict) -> str:
    where = {
        "splunk-webhook": "Splunk webhook",
        "sns": "the Splunk SNS alert action",
        "lambda-sns": "Lambda (SNS)",
        "lambda-sqs": "Lambda (SQS)",
        "sweep": "a sweep",
    }.get(alert.get("source"), str(alert.get("source")))
    link = f" ({alert['results_link']})" if alert.get("results_link") else ""
    return f"From {where}: {alert.get('search_name') or 'alert'}, sid {alert.get('sid')}{link}"
