"""Secrets by reference: SETTINGS_SECRET_ID reads settings from an AWS Secrets Manager secret
(the local world's, through boto3), below the environment and above .env files."""

from __future__ import annotations

import json
import uuid

import pytest

from helpers.aws import session
from helpers.config import SettingsSecretError, load_settings

pytestmark = pytest.mark.stack


@pytest.fixture
def secret(lab_world):
    client = session().client("secretsmanager")
    name = f"lab/automation-{uuid.uuid4().hex[:8]}"
    settings = {"JIRA_TOKEN": "token-from-the-secret", "slack_channel": "#from-secret"}
    client.create_secret(Name=name, SecretString=json.dumps(settings))
    yield name
    client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_settings_come_from_the_named_secret(secret, monkeypatch):
    monkeypatch.setenv("SETTINGS_SECRET_ID", secret)
    monkeypatch.delenv("JIRA_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_CHANNEL", raising=False)
    settings = load_settings()
    assert settings.jira_token.get_secret_value() == "token-from-the-secret"
    assert settings.slack_channel == "#from-secret"  # names match whatever their case


def test_the_environment_wins_over_the_secret(secret, monkeypatch):
    monkeypatch.setenv("SETTINGS_SECRET_ID", secret)
    monkeypatch.setenv("JIRA_TOKEN", "from-the-environment")
    assert load_settings().jira_token.get_secret_value() == "from-the-environment"


def test_an_unreadable_secret_is_named(lab_world, monkeypatch):
    monkeypatch.setenv("SETTINGS_SECRET_ID", "lab/no-such-secret")
    with pytest.raises(SettingsSecretError, match="SETTINGS_SECRET_ID='lab/no-such-secret'"):
        load_settings()


def test_a_secret_that_is_not_a_json_object_is_named(lab_world, monkeypatch):
    client = session().client("secretsmanager")
    name = f"lab/plain-{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=name, SecretString="just a password")
    try:
        monkeypatch.setenv("SETTINGS_SECRET_ID", name)
        with pytest.raises(SettingsSecretError, match="JSON object"):
            load_settings()
    finally:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
