"""The clients (and the guardrails policy) a response needs, made lazily and shared.

Enrichers and playbooks take a :class:`Clients` instead of creating boto3 or Splunk clients
themselves, so a notebook, a test, the automation server and the Lambda hand them whatever
session suits (the student's, the automation identity's, a stub's).

>>> clients = Clients()
>>> ec2 = clients.aws("ec2")                                     # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from helpers.config import Settings, get_settings

__all__ = ["Clients"]

#: Services whose endpoints boto3 prefixes with the account id (``123456789012.s3-control...``).
HOST_PREFIXED = ("s3control",)


def _unprefix(endpoint_url: str):
    """A ``before-sign`` hook sending ``<account>.<endpoint>`` requests to the endpoint itself:
    the local world's endpoint (127.0.0.1:port) has no such host names, and the account travels
    in the ``x-amz-account-id`` header anyway."""
    host = urlsplit(endpoint_url).netloc

    def hook(request, **_):
        parts = urlsplit(request.url)
        if parts.netloc != host and parts.netloc.endswith("." + host):
            request.url = urlunsplit(parts._replace(netloc=host))

    return hook


class Clients:
    """Lazily made, cached clients: ``aws(service)``, ``splunk()``."""

    def __init__(self, settings: Settings | None = None, *, aws_session: Any = None,
                 splunk: Any = None, policy: Any = None):  # fmt: skip
        self.settings = settings or get_settings()
        self._aws_session = aws_session
        self._splunk = splunk
        self._policy = policy
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
                client = session.client(service, region_name=region)
                if service in HOST_PREFIXED and self.settings.aws_endpoint_url:
                    client.meta.events.register(
                        f"before-sign.{client.meta.service_model.service_id.hyphenize()}",
                        _unprefix(self.settings.aws_endpoint_url),
                    )
                self._cache[key] = client
            return self._cache[key]

    @property
    def policy(self):
        """The guardrails :class:`~helpers.playbooks.guardrails.Policy` (``AUTOMATION_POLICY``)."""
        with self._lock:
            if self._policy is None:
                from helpers.playbooks.guardrails import Policy

                self._policy = Policy.load(self.settings.automation_policy)
            return self._policy

    def caller_arn(self) -> str:
        """Who the AWS session is (the automation's own identity is never remediated)."""
        key = ("sts-caller", "")
        if key not in self._cache:
            self._cache[key] = self.aws("sts").get_caller_identity()["Arn"]
        return self._cache[key]

    def caller_key(self) -> str | None:
        """The access key id the AWS session signs with, if it uses one."""
        credentials = self.aws_session.boto.get_credentials()
        return credentials.access_key if credentials else None

    def splunk(self):
        """A splunklib ``Service`` (made on first use)."""
        with self._lock:
            if self._splunk is None:
                from helpers.splunk import connect

                self._splunk = connect(settings=self.settings)
            return self._splunk
