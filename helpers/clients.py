"""The clients a response needs, made lazily from settings and shared: one place to swap them.

Enrichers and playbooks take a :class:`Clients` instead of creating boto3 or Splunk clients
themselves, so a notebook, a test, the automation server and the Lambda hand them whatever
session suits (the student's, the automation identity's, a stub's).

>>> clients = Clients()
>>> ec2 = clients.aws("ec2")                                     # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import Any

from helpers.config import Settings, get_settings

__all__ = ["Clients"]


class Clients:
    """Lazily made, cached clients: ``aws(service)``, ``splunk()``."""

    def __init__(self, settings: Settings | None = None, *, aws_session: Any = None,
                 splunk: Any = None):  # fmt: skip
        self.settings = settings or get_settings()
        self._aws_session = aws_session
        self._splunk = splunk
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def aws_session(self):
        """The boto3 session (a :class:`helpers.aws.LabSession` from settings by default)."""
        with self._lock:
            if self._aws_session is None:
                from helpers.aws import session

                self._aws_session = session(self.settings)
            return self._aws_session

    def aws(self, service: str, region: str | None = None):
        """A boto3 client for ``service`` (cached per service and region)."""
        region = region or self.settings.aws_region
        session = self.aws_session
        with self._lock:
            key = (service, region)
            if key not in self._cache:
                self._cache[key] = session.client(service, region_name=region)
            return self._cache[key]

    def splunk(self):
        """A splunklib ``Service`` (made on first use)."""
        with self._lock:
            if self._splunk is None:
                from helpers.splunk import connect

                self._splunk = connect(settings=self.settings)
            return self._splunk
