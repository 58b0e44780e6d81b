"""Test helpers for the Splunk stand-in: a private service process, HTTP sessions, clients."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import splunklib.client as client

from labstack.process import spawn
from labstack.splunk.service import USERNAME


def http() -> requests.Session:
    """A session that talks to loopback directly, whatever proxy the environment names."""
    session = requests.Session()
    session.trust_env = False
    return session


def unique(prefix: str = "t") -> str:
    """A fresh index or search name, so tests sharing the world never see each other's data."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Splunk:
    """Where one Splunk stand-in listens and the credentials it accepts."""

    url: str
    hec_url: str
    password: str
    hec_token: str
    token: str

    def connect(self, **kwargs) -> client.Service:
        """splunklib's ``client.connect``, as lab code calls it (password login by default)."""
        parts = urlsplit(self.url)
        options = {"username": USERNAME, "password": self.password}
        if kwargs.keys() & {"token", "splunkToken", "username"}:
            options = {}
        return client.connect(
            host=parts.hostname, port=parts.port, scheme=parts.scheme, **{**options, **kwargs}
        )

    def hec(self, path: str, body, headers: dict | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Splunk {self.hec_token}", **(headers or {})}
        return http().post(self.hec_url + path, data=body, headers=headers, timeout=30, **kwargs)

    @classmethod
    def from_settings(cls, settings: dict[str, str]) -> Splunk:
        return cls(
            url=settings["SPLUNK_URL"],
            hec_url=settings["SPLUNK_HEC_URL"],
            password=settings["SPLUNK_PASSWORD"],
            hec_token=settings["SPLUNK_HEC_TOKEN"],
            token=settings["SPLUNK_TOKEN"],
        )

    def settings(self) -> dict[str, str]:
        return {
            "SPLUNK_URL": self.url,
            "SPLUNK_USERNAME": USERNAME,
            "SPLUNK_PASSWORD": self.password,
            "SPLUNK_TOKEN": self.token,
            "SPLUNK_HEC_URL": self.hec_url,
            "SPLUNK_HEC_TOKEN": self.hec_token,
        }


#: The credentials a private Splunk process accepts.
PRIVATE = {"password": "test-password", "hec_token": "11111111-2222-4333-8444-555555555555",
           "token": "test-token"}  # fmt: skip


@contextmanager
def splunk_process(state_dir: Path, timeout: float = 60.0, env: dict | None = None):
    """Run ``python -m labstack.splunk`` on its own (restarts, and tests that need no world);
    ``env`` is more settings (``{"LAB_SPLUNK_TLS": "on"}``: its management port is HTTPS)."""
    extra = env or {}
    env = Splunk(url="", hec_url="", **PRIVATE).settings()
    env = {k: v for k, v in env.items() if not k.endswith("_URL")}
    env.update(extra)
    with spawn("splunk", state_dir, env, timeout=timeout) as proc:
        yield Splunk(url=proc.url, hec_url=proc.url_of("hec"), **PRIVATE)
