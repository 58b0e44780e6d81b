"""The Splunk stand-in's settings, read from the environment once, at start (``lab up`` sets them).

>>> config = Config.from_env({"SPLUNK_PASSWORD": "p", "SPLUNK_HEC_TOKEN": "t"})
>>> config.username, str(config.state_dir), config.alerting.tick
('admin', '.lab/state/splunk', 60.0)
>>> Config.from_env({})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
SystemExit: labstack.splunk: missing environment variable(s): SPLUNK_PASSWORD, SPLUNK_HEC_TOKEN
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labstack.envconfig import require
from labstack.splunk.alerting import Options
from labstack.splunk.alerting.engine import TICK
from labstack.splunk.alerting.outbox import ATTEMPTS, BACKOFF
from labstack.splunk.tls import TLS_DEFAULT, tls_enabled

__all__ = ["Config"]

REQUIRED = ("SPLUNK_PASSWORD", "SPLUNK_HEC_TOKEN")
#: Where state lives when ``LAB_STATE_DIR`` is unset (a checkout's ``.lab``).
DEFAULT_STATE_DIR = ".lab/state/splunk"
#: What alert actions read from the environment (the SNS action's AWS account).
ACTION_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")  # fmt: skip


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"labstack.splunk: {name} must be a number, got {text!r}") from None
    if value <= 0:
        raise SystemExit(f"labstack.splunk: {name} must be positive, got {text!r}")
    return value


def _tls(env: Mapping[str, str]) -> bool:
    try:
        return tls_enabled(env)
    except ValueError as exc:
        raise SystemExit(f"labstack.splunk: {exc}") from None


def _allowlist(env: Mapping[str, str]) -> tuple[str, ...]:
    """``LAB_SPLUNK_WEBHOOK_ALLOWLIST``: whitespace-separated regexes a webhook URL must match."""
    name = "LAB_SPLUNK_WEBHOOK_ALLOWLIST"
    patterns = tuple((env.get(name) or "").split())
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SystemExit(
                f"labstack.splunk: {name} has an invalid regex {pattern!r}: {exc}"
            ) from None
    return patterns


@dataclass(frozen=True)
class Config:
    """``SPLUNK_PASSWORD``, ``SPLUNK_HEC_TOKEN`` (required), ``SPLUNK_USERNAME``,
    ``SPLUNK_TOKEN`` (an auth token accepted as ``Splunk <t>`` or ``Bearer <t>``),
    ``LAB_STATE_DIR``; alerting: ``LAB_SPLUNK_SCHEDULER_SECONDS`` (tick, default 60),
    ``LAB_SPLUNK_WEBHOOK_ATTEMPTS`` (tries per delivery, default 8), ``LAB_SPLUNK_WEBHOOK_BACKOFF``
    (first retry delay, default 1 s, doubling), ``LAB_SPLUNK_WEBHOOK_ALLOWLIST`` (regexes a
    webhook URL must match, alert_actions.conf's allow-list; unset: any http(s) URL); the AWS
    variables the SNS alert action uses; ``LAB_SPLUNK_TLS`` (``on``: the management port
    speaks HTTPS with a self-signed certificate, as splunkd does; default ``off``)."""

    password: str
    hec_token: str
    username: str = "admin"
    token: str | None = None
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    alerting: Options = field(default_factory=Options)
    action_env: Mapping[str, str] = field(default_factory=dict)
    webhook_allowlist: tuple[str, ...] = ()
    tls: bool = TLS_DEFAULT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        require(environ, REQUIRED, "labstack.splunk")
        return cls(
            password=environ["SPLUNK_PASSWORD"],
            hec_token=environ["SPLUNK_HEC_TOKEN"],
            username=environ.get("SPLUNK_USERNAME") or "admin",
            token=environ.get("SPLUNK_TOKEN") or None,
            state_dir=Path(environ.get("LAB_STATE_DIR") or DEFAULT_STATE_DIR),
            alerting=Options(
                tick=_positive(environ, "LAB_SPLUNK_SCHEDULER_SECONDS", TICK),
                attempts=int(_positive(environ, "LAB_SPLUNK_WEBHOOK_ATTEMPTS", ATTEMPTS)),
                backoff=_positive(environ, "LAB_SPLUNK_WEBHOOK_BACKOFF", BACKOFF),
            ),
            action_env={k: environ[k] for k in ACTION_ENV if environ.get(k)},
            webhook_allowlist=_allowlist(environ),
            tls=_tls(environ),
        )
