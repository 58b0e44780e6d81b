"""boto3 sessions for the lab: the student's own, and "actors" acting from somewhere else.

In the local world (``AWS_ENDPOINT_URL`` set) every client is pointed at the emulated account; in a
real account the same calls go to AWS. An actor session adds the lab's source headers, which the
local CloudTrail recorder writes as ``sourceIPAddress`` and ``userAgent``; real AWS ignores them
(there the address is where the call really comes from).

>>> from helpers.aws import session, actor_session
>>> s3 = session().client("s3")                                   # doctest: +SKIP
>>> attacker = actor_session("AKIAIOSFODNN7EXAMPLE", "wJalr...", source_ip="203.0.113.7")
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from botocore.config import Config

from helpers.config import Settings, get_settings

SOURCE_IP_HEADER = "X-Lab-Source-Ip"
USER_AGENT_HEADER = "X-Lab-User-Agent"
DEFAULT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5)


class LabSession:
    """A boto3 session whose clients and resources use the settings' endpoint (if any)."""

    def __init__(self, boto_session: boto3.Session, endpoint_url: str | None, headers=None):
        self.boto = boto_session
        self.endpoint_url = endpoint_url
        self.headers = dict(headers or {})
        self.region_name = boto_session.region_name

    def client(self, service: str, **kwargs):
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        kwargs.setdefault("config", DEFAULT_CONFIG)
        client = self.boto.client(service, **kwargs)
        if self.headers:
            client.meta.events.register("before-sign.*.*", self._add_headers)
        return client

    def resource(self, service: str, **kwargs):
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        kwargs.setdefault("config", DEFAULT_CONFIG)
        resource = self.boto.resource(service, **kwargs)
        if self.headers:
            resource.meta.client.meta.events.register("before-sign.*.*", self._add_headers)
        return resource

    def _add_headers(self, request, **_):
        for name, value in self.headers.items():
            request.headers[name] = value

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]


def session(settings: Settings | None = None, **credentials) -> LabSession:
    """The student's session from settings (keys, or ``AWS_PROFILE``, or the default chain)."""
    settings = settings or get_settings()
    kwargs = {"region_name": settings.aws_region}
    if credentials:
        kwargs.update(credentials)
    elif settings.aws_profile:
        kwargs["profile_name"] = settings.aws_profile
    elif settings.aws_access_key_id:
        kwargs["aws_access_key_id"] = settings.aws_access_key_id
        kwargs["aws_secret_access_key"] = settings.require("aws_secret_access_key")
        if settings.aws_session_token:
            kwargs["aws_session_token"] = settings.aws_session_token.get_secret_value()
    return LabSession(boto3.Session(**kwargs), settings.aws_endpoint_url)


@dataclass(frozen=True)
class Actor:
    """Who performs a call, and from where."""

    name: str
    access_key_id: str
    secret_access_key: str
    source_ip: str
    user_agent: str
    session_token: str | None = None


def actor_session(
    access_key_id: str,
    secret_access_key: str,
    *,
    source_ip: str,
    user_agent: str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
    session_token: str | None = None,
    settings: Settings | None = None,
) -> LabSession:
    """A session with someone else's credentials that appears to call from ``source_ip``."""
    settings = settings or get_settings()
    boto_session = boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=settings.aws_region,
    )
    headers = {SOURCE_IP_HEADER: source_ip, USER_AGENT_HEADER: user_agent}
    return LabSession(boto_session, settings.aws_endpoint_url, headers)


def session_for(actor: Actor, settings: Settings | None = None) -> LabSession:
    """The session of an ``Actor``."""
    return actor_session(
        actor.access_key_id,
        actor.secret_access_key,
        source_ip=actor.source_ip,
        user_agent=actor.user_agent,
        session_token=actor.session_token,
        settings=settings,
    )
