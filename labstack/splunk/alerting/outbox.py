"""The outbox: delivers every alert action's queued deliveries, with retries and dead letters.

A fired alert's deliveries (webhook POSTs, SNS publishes...) are written to the outbox (a
:class:`helpers.runtime.queue.Queue` in ``alerts.sqlite``, see :mod:`.state`) in the same
transaction as the fired alert, before anything is sent, so a receiver that is down, or a
restart, loses nothing. The :class:`Outbox` workers hand each due delivery to its action
(:mod:`.actions`); what the action says is retryable is tried again after an exponential
backoff with jitter (a Retry-After is honoured), and after ``attempts`` tries it is kept as a
dead letter, ``failed`` on the alerts page and in ``alerts/fired_alerts``.
"""

from __future__ import annotations

import logging

from helpers.runtime.queue import Message, Permanent, Retry, Worker
from labstack.splunk.alerting.actions import Action, Outgoing
from labstack.splunk.alerting.state import DEFAULT_ACTION, AlertState

__all__ = ["ATTEMPTS", "BACKOFF", "JITTER", "MAX_BACKOFF", "Outbox"]

log = logging.getLogger("labstack.splunk.alerts")

#: Tries per delivery before it is marked failed.
ATTEMPTS = 8
#: Seconds before the first retry; doubled after each failure, capped at MAX_BACKOFF.
BACKOFF = 1.0
MAX_BACKOFF = 60.0
#: Each backoff delay is spread over +-10%, so retries of many deliveries do not bunch up.
JITTER = 0.1
#: Deliveries in flight at once (a slow receiver must not hold up the others).
WORKERS = 4


class Outbox:
    """Delivers the queued deliveries (``state.webhooks``) on a few worker threads until
    stopped; ``actions`` maps an action's name to the :class:`Action` that performs it."""

    def __init__(self, state: AlertState, actions: dict[str, Action], workers: int = WORKERS):
        self.state = state
        self.queue = state.webhooks
        self.actions = actions
        self._workers = [
            Worker(self.queue, self.deliver, name=f"outbox-{n}", batch=1) for n in range(workers)
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop(timeout=0)
        for worker in self._workers:
            worker.join(timeout=5)

    def wake(self) -> None:
        """New deliveries were queued: look now rather than at the next retry time."""
        self.queue.wake()

    def deliver(self, message: Message) -> str:
        """One attempt at one delivery (the queue's handler): a note, or Retry / Permanent."""
        body = message.body
        name = body.get("action", DEFAULT_ACTION)
        action = self.actions.get(name)
        if action is None:
            self._gave_up(message, f"unknown alert action {name!r}")
            raise Permanent(f"unknown alert action {name!r}")
        delivery = Outgoing(body.get("target", body.get("url", "")), body["payload"])
        try:
            return action.deliver(delivery)
        except Retry as exc:
            self._retrying(message, str(exc))
            raise
        except Permanent as exc:
            self._gave_up(message, str(exc))
            raise

    def _retrying(self, message: Message, error: str) -> None:
        if message.attempts >= self.queue.max_attempts:
            self._gave_up(message, error)
        else:
            log.info("%s for %r to %s: %s; retrying", _action(message), message.body["search"],
                     _target(message), error)  # fmt: skip

    def _gave_up(self, message: Message, error: str) -> None:
        log.warning(
            "%s for %r to %s failed after %d attempt(s): %s", _action(message),
            message.body["search"], _target(message), message.attempts, error,
        )  # fmt: skip


def _action(message: Message) -> str:
    return message.body.get("action", DEFAULT_ACTION)


def _target(message: Message) -> str:
    return message.body.get("target", message.body.get("url", ""))
