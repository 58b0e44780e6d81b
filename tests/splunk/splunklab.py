"""Test helpers for the Splunk stand-in: a private service process, HTTP sessions, clients."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import splunklib.client as client

from labstack.splunk.service import USERNAME
from labstack.world import free_port


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


@contextmanager
def splunk_process(state_dir: Path, timeout: float = 60.0):
    """Run ``python -m labstack.splunk`` on its own (restarts, and tests that need no world)."""
    api, hec = free_port(), free_port()
    splunk = Splunk(
        url=f"http://127.0.0.1:{api}",
        hec_url=f"http://127.0.0.1:{hec}",
        password="test-password",
        hec_token="11111111-2222-4333-8444-555555555555",
        token="test-token",
    )
    env = dict(
        os.environ,
        LAB_STATE_DIR=str(state_dir),
        LAB_PORT_SPLUNK=str(api),
        LAB_PORT_SPLUNK_HEC=str(hec),
        **splunk.settings(),
    )
    log = Path(state_dir).parent / f"{Path(state_dir).name}.log"
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labstack.splunk"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"labstack.splunk exited early:\n{log.read_text()}")
            try:
                if http().get(splunk.url + "/_lab/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"labstack.splunk not healthy:\n{log.read_text()}")
            time.sleep(0.05)
        yield splunk
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
