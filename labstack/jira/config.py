"""The lab Jira's settings, read from the environment once, at start (``lab up`` sets them).

>>> Config.from_env({"LAB_PORT_JIRA": "8080", "JIRA_USER": "lab", "JIRA_TOKEN": "t"}).base_url
'http://127.0.0.1:8080'
>>> Config.from_env({"LAB_PORT_JIRA": "8080"})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
SystemExit: jira: missing environment variable(s): JIRA_USER, JIRA_TOKEN
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from labstack.envconfig import require

__all__ = ["DEPLOYMENT_ENV", "Config"]

#: The environment variable that makes the service answer like Jira Cloud (``Cloud``) instead of
#: Data Center (``Server``, the default). Only the service reads it; clients detect the mode from
#: ``/rest/api/2/serverInfo`` exactly as they do against the real products.
DEPLOYMENT_ENV = "LAB_JIRA_DEPLOYMENT_TYPE"


@dataclass(frozen=True)
class Config:
    """What one running service knows about itself (read from the environment at start)."""

    base_url: str
    project: str
    user: str
    token: str
    deployment: str = "Server"
    state_dir: str = "."
    port: int = 0  # LAB_PORT_JIRA; the default port is in the service registry only

    @property
    def cloud(self) -> bool:
        return self.deployment == "Cloud"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        env = environ
        require(env, ("LAB_PORT_JIRA", "JIRA_USER", "JIRA_TOKEN"), "jira")
        port = int(env["LAB_PORT_JIRA"])
        deployment = env.get(DEPLOYMENT_ENV, "Server")
        if deployment not in ("Server", "Cloud"):
            raise SystemExit(f"jira: {DEPLOYMENT_ENV} must be Server or Cloud, not {deployment!r}")
        return cls(
            base_url=env.get("JIRA_URL") or f"http://127.0.0.1:{port}",
            project=env.get("JIRA_PROJECT", "SEC"),
            user=env["JIRA_USER"],
            token=env["JIRA_TOKEN"],
            deployment=deployment,
            state_dir=env.get("LAB_STATE_DIR", "."),
            port=port,
        )
