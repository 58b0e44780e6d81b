"""A private, wired local world for the automation server's tests (its own Jira, Slack, Splunk,
AWS and automation processes), so killing and restarting the automation, or taking Jira down,
touches no other test."""

from __future__ import annotations

import pytest
import requests

from helpers.config import Settings
from labstack.world import World
from tests.alerts.alertlab import wait_for


class WiredWorld:
    """The world, its settings, and small helpers for driving the automation over HTTP."""

    def __init__(self, world: World):
        self.world = world
        self.http = requests.Session()
        self.http.trust_env = False
        self.reload()

    def reload(self) -> None:
        self.env = self.world.read_env()
        self.settings = Settings(_env_file=None, **{k.lower(): v for k, v in self.env.items()})
        self.url = self.env["AUTOMATION_URL"]
        self.hook = self.env["AUTOMATION_SPLUNK_WEBHOOK_URL"]

    def post_alert(self, row: dict, sid: str = "rt_test", **extra):
        body = {"sid": sid, "search_name": row.get("detection", "test"), "result": row,
                "results_link": "", "owner": "nobody", "app": "search", **extra}  # fmt: skip
        return self.http.post(self.hook, json=body, timeout=10)

    def incidents(self, **params) -> list[dict]:
        return self.http.get(f"{self.url}/api/incidents", params=params, timeout=10).json()[
            "incidents"
        ]

    def incident(self, key: str) -> dict | None:
        resp = self.http.get(f"{self.url}/api/incidents/{key}", timeout=10)
        return resp.json() if resp.status_code == 200 else None

    def queue(self) -> dict:
        return self.http.get(f"{self.url}/api/queue", timeout=10).json()["inbox"]

    def wait(self, check, timeout: float = 30.0, what: str = "the condition"):
        """Poll ``check()`` until it returns something truthy; fail with ``what`` after."""
        return wait_for(check, timeout=timeout, interval=0.1, what=what)

    def wait_state(self, key: str, *states: str, timeout: float = 30.0) -> dict:
        return self.wait(
            lambda: (i := self.incident(key)) and i["state"] in states and i,
            timeout,
            f"{key} to reach {' or '.join(states)}",
        )

    def jira(self):
        from helpers import jira

        return jira.connect(self.settings)


@pytest.fixture(scope="package")
def wired(tmp_path_factory):
    """A wired local world for tests/automation (started once for the folder)."""
    from labstack.cli.wiring import wire

    home = tmp_path_factory.mktemp("wired") / ".lab"
    with World.scratch(home) as world:
        lab = WiredWorld(world)
        wire(lab.settings)
        yield lab
