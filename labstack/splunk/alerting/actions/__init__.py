"""Alert actions: what a fired alert does, one module per action (``actions=webhook,...``).

An action is a class registered in :data:`ACTIONS` under the name a saved search's ``actions``
attribute uses. It checks the saved search's settings when it is stored (:meth:`Action.check`,
ConditionError: a 400 naming the attribute), turns one trigger into the deliveries to queue
(:meth:`Action.prepare`, run when the alert fires, so tokens see that moment), and performs one
queued delivery (:meth:`Action.deliver`, called by the outbox's workers, retried with backoff).
Every module of this package is imported here, so adding an action is adding one module.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from helpers.runtime.registry import Registry
from labstack.splunk.alerting.rule import AlertRule

__all__ = ["ACTIONS", "Action", "ActionError", "ActionSettings", "Outgoing", "Trigger", "build"]

#: Seconds one delivery attempt may take (connect + answer).
TIMEOUT = 10.0


class ActionError(Exception):
    """This trigger cannot be delivered as configured (logged once per saved search)."""


@dataclass(frozen=True)
class ActionSettings:
    """What actions need from the process: timeouts, the environment (AWS credentials) and
    the webhook allow-list (alert_actions.conf ``[webhook] allowlist.*`` regexes; empty: off)."""

    timeout: float = TIMEOUT
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    webhook_allowlist: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trigger:
    """One trigger of an alert: the results it covers (a digest: the run's; per result: one)."""

    rule: AlertRule
    sid: str
    rows: tuple[dict, ...]
    trigger_time: float
    results_link: str

    @property
    def row(self) -> dict | None:
        """The first result (the one Splunk's webhook sends), or None."""
        return self.rows[0] if self.rows else None

    def tokens(self) -> dict[str, str]:
        """The alert tokens for ``$name$`` substitution."""
        return {
            "name": self.rule.name,
            "search_name": self.rule.name,
            "results_link": self.results_link,
            "trigger_time": str(int(self.trigger_time)),
            "app": self.rule.app,
            "owner": self.rule.owner,
            "job.sid": self.sid,
        }


@dataclass(frozen=True)
class Outgoing:
    """One delivery to queue: where it goes (shown in listings) and what it carries (JSON)."""

    target: str
    payload: dict


class Action(ABC):
    """Base class of alert actions; subclasses set :attr:`name` and register themselves."""

    name: ClassVar[str]

    def __init__(self, settings: ActionSettings):
        self.settings = settings

    def check(self, rule: AlertRule) -> None:  # noqa: B027 - optional: most actions accept all
        """Reject settings Splunk (or the add-on) would reject on save: ConditionError."""

    @abstractmethod
    def prepare(self, trigger: Trigger) -> list[Outgoing]:
        """The deliveries of one trigger; ActionError when it cannot be delivered."""

    @abstractmethod
    def deliver(self, delivery: Outgoing) -> str:
        """One attempt: a note on success; ``Retry`` (try again) or ``Permanent`` (give up)."""


ACTIONS: Registry[type[Action]] = Registry("alert action")


def build(settings: ActionSettings) -> dict[str, Action]:
    """One instance of every registered action, by name."""
    return {name: cls(settings) for name, cls in ACTIONS.items()}


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
