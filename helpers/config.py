"""One settings object for the whole toolkit.

Settings come from, highest priority first: environment variables, a ``.env`` file in the working
directory, and the ``.lab/env`` file that ``lab up`` writes for the local world. The names are the
same in both worlds (see DESIGN.md section 4), so pointing the lab at a real AWS account, Splunk,
Jira or Slack is a matter of setting them, never of changing code.

Secrets are ``SecretStr`` and never printed; a setting that a call needs but nobody set raises
``MissingSetting`` naming it. Where secrets must not sit in the environment (a Lambda function, a
server), ``SETTINGS_SECRET_ID`` names an AWS Secrets Manager secret holding a JSON object of
settings (``{"JIRA_TOKEN": "...", "SLACK_BOT_TOKEN": "..."}``), read below the environment.

>>> from helpers.config import get_settings
>>> settings = get_settings()
>>> settings.aws_region
'us-east-1'
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    AWSSecretsManagerSettingsSource,
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from helpers.runtime.home import lab_home

#: How a yes/no setting may be written.
_SWITCH = {"true": True, "1": True, "on": True, "yes": True,
           "false": False, "0": False, "off": False, "no": False}  # fmt: skip


class MissingSetting(RuntimeError):
    """A setting the call needs is not set; the message names the environment variable."""

    def __init__(self, name: str, purpose: str = ""):
        hint = f" ({purpose})" if purpose else ""
        super().__init__(
            f"setting {name} is not set{hint}. Set the environment variable, put it in .env, "
            "or start the local world with `lab up --detach`."
        )
        self.name = name


def lab_env_file() -> Path | None:
    """The ``.lab/env`` written by ``lab up`` in the lab home, if there is one."""
    path = lab_home() / "env"
    return path if path.exists() else None


class Settings(BaseSettings):
    """Every setting the helpers read. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    # AWS: AWS_ENDPOINT_URL unset means real AWS; credentials may also come from AWS_PROFILE.
    aws_endpoint_url: str | None = None
    aws_default_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    aws_profile: str | None = None
    cloudtrail_bucket: str | None = None
    cloudtrail_queue: str | None = None
    #: The account's audit trail: the one trail the playbook recreates when it is deleted.
    cloudtrail_trail: str | None = None

    # Splunk
    splunk_url: str | None = None
    splunk_username: str | None = None
    splunk_password: SecretStr | None = None
    splunk_token: SecretStr | None = None
    splunk_hec_url: str | None = None
    splunk_hec_token: SecretStr | None = None
    #: How HEC's TLS certificate is checked: true (the system's CAs), false (not at all, as
    #: against a default Splunk's self-signed certificate), or the path of a CA bundle.
    splunk_hec_verify: bool | str = True
    splunk_index: str = "main"

    # Jira. JIRA_TEAM_OWNERS is JSON mapping a team to its owner, e.g. {"platform": "alice"}
    # (a user name on Data Center, an e-mail address on Cloud). JIRA_DEDUP_FIELD names the text
    # custom field that holds an incident's dedup key; JIRA_WEBHOOK_SECRET signs Jira webhooks.
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: SecretStr | None = None
    jira_project: str = "SEC"
    jira_team_owners: dict[str, str] = {}
    jira_dedup_field: str = "Dedup Key"
    jira_issue_type: str = "Task"
    #: A ticket resolved this many days ago or less is reopened when its incident fires again
    #: (0: always open a new ticket).
    jira_reopen_days: int = Field(default=7, ge=0)
    jira_webhook_secret: SecretStr | None = None

    # Slack
    slack_webhook_url: SecretStr | None = None
    slack_api_url: str | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_channel: str = "#sec-alerts"

    # The automation server
    automation_url: str | None = None
    #: The full URL a Splunk webhook alert posts to (token included); `lab env` prints it.
    automation_splunk_webhook_url: SecretStr | None = None
    #: The secret path token of the Splunk webhook URL (the server's side of it).
    automation_token: SecretStr | None = None
    #: The guardrails policy file (default: helpers/playbooks/policy.yml).
    automation_policy: Path | None = None
    #: Where the server keeps its incidents and inbox (default: $LAB_STATE_DIR or ./.automation).
    automation_state_dir: str | None = None
    automation_workers: int = 4
    #: The SQS queue subscribed to the Splunk SNS alert topic (empty: no SNS path).
    automation_alert_queue: str | None = None
    #: When to run the response: on Jira's "ticket created" webhook (jira), or at once (alert).
    automation_respond_on: str = "jira"
    #: The automation's own AWS identity (never remediated); by default the caller's.
    automation_aws_access_key_id: str | None = None
    automation_aws_secret_access_key: SecretStr | None = None

    # Scheduled jobs (helpers.jobs)
    #: The jobs file (default: ./jobs.yml, else the lab's own jobs.yml beside helpers/).
    jobs_file: Path | None = None
    #: Where runs are archived (default: <lab home>/jobs).
    jobs_archive: Path | None = None
    #: Whether the jobs service runs jobs when they are due (off: it only serves the page).
    jobs_scheduler: bool = True

    # Attack scenarios (helpers.simulate). The attacker holds the developer's stolen key; the
    # defaults are the local world's documentation values, not secrets.
    lab_attacker_access_key_id: str = "AKIAIOSFODNN7EXAMPLE"
    lab_attacker_secret_access_key: SecretStr = SecretStr(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    lab_attacker_ip: str = "77.88.8.8"
    lab_attacker_user_agent: str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.kali.2024"
    lab_root_access_key_id: str = "AKIAEXAMPLEROOTKEY01"
    lab_root_secret_access_key: SecretStr = SecretStr("rootEXAMPLEKEYwJalrXUtnFEMI/K7MDENGbPxR")
    lab_office_ips: str = "52.94.236.248,13.107.42.14,104.16.1.1"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, the environment, the ``SETTINGS_SECRET_ID`` secret, ``.env`` files."""
        secret = os.environ.get("SETTINGS_SECRET_ID")
        if not secret:
            return init_settings, env_settings, dotenv_settings, file_secret_settings
        try:  # the source reads the secret as it is made
            stored = AWSSecretsManagerSettingsSource(
                settings_cls,
                secret,
                region_name=os.environ.get("AWS_DEFAULT_REGION"),
                endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                case_sensitive=False,
            )
        except Exception as exc:  # botocore's errors (not found, denied, no credentials), JSON
            raise SettingsSecretError(
                f"SETTINGS_SECRET_ID={secret!r}: the secret cannot be read "
                f"({type(exc).__name__}: {exc}); it must be a Secrets Manager secret holding a "
                'JSON object such as {"JIRA_TOKEN": "..."}, readable by this identity'
            ) from None
        return init_settings, env_settings, stored, dotenv_settings

    @field_validator("jira_team_owners", mode="before")
    @classmethod
    def _json_mapping(cls, value):
        """JSON text, as in the environment, also when passed in directly (``Settings(**env)``)."""
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValueError(f'not JSON: {value!r}; e.g. {{"platform": "alice"}}') from None
        return value

    @field_validator("splunk_hec_verify", mode="before")
    @classmethod
    def _verify(cls, value):
        """``true``/``false`` (also ``1``/``0``, ``on``/``off``, ``yes``/``no``) or a CA bundle
        that exists.

        >>> Settings(splunk_hec_verify="off").splunk_hec_verify
        False
        """
        if not isinstance(value, str):
            return value
        switch = _SWITCH.get(value.strip().lower())
        if switch is not None:
            return switch
        if not Path(value).expanduser().is_file():
            raise ValueError(
                f"SPLUNK_HEC_VERIFY must be true, false or a CA bundle file; {value!r} is none "
                "of them"
            )
        return str(Path(value).expanduser())

    @property
    def aws_region(self) -> str:
        return self.aws_default_region

    @property
    def local(self) -> bool:
        """True when AWS is the local world (an endpoint is set)."""
        return bool(self.aws_endpoint_url)

    def require(self, name: str, purpose: str = ""):
        """The value of a setting, or ``MissingSetting`` naming its variable.

        >>> get_settings().require("aws_default_region")
        'us-east-1'
        """
        value = getattr(self, name.lower())
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or value == "":  # an empty secret is as missing as an unset one
            raise MissingSetting(name.upper(), purpose)
        return value


class SettingsSecretError(RuntimeError):
    """The Secrets Manager secret named by ``SETTINGS_SECRET_ID`` could not be read."""


def load_settings(**overrides) -> Settings:
    """Read settings now (environment, ``.env``, ``.lab/env``); keyword arguments win."""
    files = [f for f in (lab_env_file(), Path(".env")) if f is not None and f.exists()]
    return Settings(_env_file=tuple(files) or None, **overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Call ``get_settings.cache_clear()`` after changes."""
    return load_settings()
