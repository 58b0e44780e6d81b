"""Wires the parts of the lab's Jira into one WSGI app and one delivery worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labstack.jira.catalog import Catalog
from labstack.jira.config import Config
from labstack.jira.models import Jira
from labstack.jira.render import Renderer
from labstack.jira.routes import Api
from labstack.jira.store import Store
from labstack.jira.web import Web
from labstack.jira.webhooks import Dispatcher, Outbox, Registry

DB_NAME = "jira.sqlite3"


@dataclass
class JiraApp:
    """The running parts: ``wsgi`` serves HTTP, ``dispatcher`` delivers webhooks."""

    config: Config
    store: Store
    jira: Jira
    api: Api
    web: Web
    dispatcher: Dispatcher

    def wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        target = self.api if self.api.matches(path) else self.web
        return target(environ, start_response)


def build(config: Config) -> JiraApp:
    """Build the service for ``config``; state lives in ``config.state_dir``."""
    cat = Catalog(config)
    store = Store(Path(config.state_dir) / DB_NAME)
    render = Renderer(cat, store)
    outbox = Outbox(store, render)
    jira = Jira(cat, store, on_event=outbox.on_event)
    outbox.jira = jira
    api = Api(cat, store, jira, render, Registry(jira, store, config.base_url))
    return JiraApp(config, store, jira, api, Web(cat, store, render), Dispatcher(store))
