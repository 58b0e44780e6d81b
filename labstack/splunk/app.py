"""Wires the local Splunk's parts: the store, saved searches and jobs, alerting, the management
API, the HEC and the web pages. Every reference is handed in here; nothing patches anything.

>>> app = build(config, web_url="http://127.0.0.1:8089")  # doctest: +SKIP
>>> app.start(); ...; app.stop()                           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from labstack.splunk import results
from labstack.splunk.alerting import Alerting
from labstack.splunk.alerting.actions import ActionSettings
from labstack.splunk.api import ROUTES, Splunkd
from labstack.splunk.apps import Apps
from labstack.splunk.auth import Auth
from labstack.splunk.config import Config
from labstack.splunk.hec import HecApp, KnownIndexes
from labstack.splunk.internal_log import AccessLog
from labstack.splunk.jobs import Jobs
from labstack.splunk.saved import SavedSearches
from labstack.splunk.store import EventStore
from labstack.splunk.web import Web

__all__ = ["SplunkApp", "build"]

EVENTS_DB = "events.duckdb"
SAVED_SEARCHES = "saved_searches.json"
APPS = "apps.json"
USERS = "users.json"


def search_runner(store: EventStore):
    """What a job runs: the search over ``store``, as (fields, rows, messages) in API form."""

    def run(search: str, earliest, latest, now: float, guard=None, namespace=None):
        found = store.search(
            search, earliest=earliest, latest=latest, now=now, guard=guard, namespace=namespace
        )
        fields = list(found.fields)
        return (
            fields,
            results.clean_rows(fields, found.rows),
            results.normalise_messages(getattr(found, "messages", [])),
        )

    return run


@dataclass
class SplunkApp:
    """The running parts: ``api`` (management API and pages) and ``hec`` are WSGI apps."""

    config: Config
    store: EventStore
    saved: SavedSearches
    jobs: Jobs
    alerting: Alerting
    api: Splunkd
    hec: HecApp
    web: Web
    access_log: AccessLog | None = None

    def start(self) -> None:
        self.alerting.start()
        if self.access_log is not None:
            self.access_log.start()

    def stop(self) -> None:
        self.alerting.stop()
        if self.access_log is not None:
            self.access_log.stop()
        self.jobs.shutdown()
        self.store.close()


def build(config: Config, web_url: str) -> SplunkApp:
    """Build the service for ``config``; ``web_url`` is where its API and pages are served
    (alerts' ``results_link``)."""
    state = config.state_dir
    state.mkdir(parents=True, exist_ok=True)
    store = EventStore(str(state / EVENTS_DB))
    saved = SavedSearches(state / SAVED_SEARCHES)
    if store.pre_namespace:  # a state from before namespaces: its objects stay where seen
        saved.adopt_pre_namespace()
    jobs = Jobs(search_runner(store))
    alerting = Alerting(
        store, saved, jobs, state, web=web_url, options=config.alerting,
        action_settings=ActionSettings(
            environ=dict(config.action_env), webhook_allowlist=config.webhook_allowlist
        ),
    )  # fmt: skip
    if store.pre_namespace:
        alerting.adopt_pre_namespace()
    saved.listeners.append(alerting.on_saved_change)
    store.add_listeners.append(alerting.on_events)
    known_indexes = KnownIndexes(store)
    web = Web()
    auth = Auth(config.username, config.password, token=config.token, users_file=state / USERS)
    access_log = AccessLog(store)
    api = Splunkd(
        store, saved, jobs, auth, state_dir=state, routes=ROUTES, known_indexes=known_indexes,
        pages=web.page, alerting=alerting,
        apps=Apps(state / APPS, store, saved, check=alerting.check), access_log=access_log,
    )  # fmt: skip
    access_log.host = api.server_name
    if store.pre_namespace:  # saved searches, alert state and macros' attributes adopted
        store.end_pre_namespace()
    hec = HecApp(store, config.hec_token, indexes=known_indexes)
    return SplunkApp(config, store, saved, jobs, alerting, api, hec, web, access_log)
