"""Build the automation server from settings: its store, inbox, outputs and WSGI app."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from helpers.automation.app import AutomationApp
from helpers.automation.engine import Automation
from helpers.automation.outputs import JiraTickets, SlackChat, SplunkResults
from helpers.automation.store import Store
from helpers.automation.sweep import world_open_groups
from helpers.clients import Clients
from helpers.config import MissingSetting, Settings, get_settings
from helpers.playbooks.guardrails import Policy
from helpers.runtime.locks import KeyLocks
from helpers.runtime.queue import Backoff, Queue

__all__ = ["Service", "build", "state_dir"]

#: Inbox retries: about 2.5 minutes of backoff (a Jira outage of 30 s is ridden out), then parked.
INBOX_ATTEMPTS = 12
INBOX_BACKOFF = Backoff(base=0.25, factor=2.0, cap=20.0, jitter=0.2)
#: Seconds a claimed item stays hidden; a worker that dies gives it back after this.
VISIBILITY = 60.0


@dataclass
class Service:
    """The built parts: the engine, its WSGI app (None for a Lambda), its store and inbox."""

    automation: Automation
    app: AutomationApp | None
    store: Store
    inbox: Queue

    def close(self) -> None:
        self.inbox.close()
        self.store.close()


def state_dir(settings: Settings) -> Path:
    """Where the store and the inbox live."""
    return Path(
        settings.automation_state_dir or os.environ.get("LAB_STATE_DIR") or ".automation"
    ).expanduser()


def _clients(settings: Settings) -> Clients:
    """The automation acts as its own AWS identity when one is configured."""
    policy = Policy.load(settings.automation_policy)
    if settings.automation_aws_access_key_id:
        from helpers.aws import session

        key = settings.automation_aws_access_key_id
        secret = settings.require("automation_aws_secret_access_key", "the automation's AWS key")
        aws = session(
            settings,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name=settings.aws_region,
        )
        return Clients(settings, aws_session=aws, policy=policy)
    return Clients(settings, policy=policy)


def build(
    settings: Settings | None = None,
    *,
    directory: Path | None = None,
    web: bool = True,
    **engine,
) -> Service:
    """Build the server from settings: the store and inbox under ``directory``, Jira, Slack and
    Splunk outputs for the products that are configured. Keyword arguments go to ``Automation``.
    ``web=False`` builds no HTTP app (the Lambda: its events come from AWS, not over HTTP), so
    it needs no ``AUTOMATION_TOKEN``.
    """
    settings = settings or get_settings()
    token = settings.automation_token
    if web and (token is None or not token.get_secret_value()):
        raise MissingSetting("AUTOMATION_TOKEN", "the secret in the Splunk webhook URL")
    directory = directory or state_dir(settings)
    store = Store(directory / "automation.sqlite")
    inbox = Queue(
        directory / "inbox.sqlite",
        "inbox",
        visibility=VISIBILITY,
        max_attempts=INBOX_ATTEMPTS,
        backoff=INBOX_BACKOFF,
    )
    locks = KeyLocks()
    options = {
        "tickets": JiraTickets(settings, locks=locks) if settings.jira_url else None,
        "chat": SlackChat(settings, locks=locks) if settings.slack_bot_token else None,
        "locks": locks,
        "results": SplunkResults(settings) if settings.splunk_url else None,
        "clients": _clients(settings),
        "local": settings.local,
        "respond_on": settings.automation_respond_on,
    }
    clients = options["clients"]
    options["sweep"] = lambda: world_open_groups(clients)
    options.update(engine)
    automation = Automation(store, inbox, **options)
    if not web:
        return Service(automation, None, store, inbox)
    secret = settings.jira_webhook_secret
    slack_secret = settings.slack_signing_secret
    app = AutomationApp(
        automation,
        splunk_token=token.get_secret_value(),
        jira_secret=secret.get_secret_value() if secret else None,
        slack_secret=slack_secret.get_secret_value() if slack_secret else None,
    )
    return Service(automation, app, store, inbox)
