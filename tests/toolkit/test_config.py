"""helpers.config: one Settings class, read once; the Jira and automation settings live there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from helpers.config import Settings


def _isolated(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAB_HOME", str(tmp_path / "no-lab"))


def test_jira_settings_are_part_of_settings(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    monkeypatch.setenv("JIRA_TEAM_OWNERS", json.dumps({"platform": "alice"}))
    monkeypatch.setenv("JIRA_DEDUP_FIELD", "Incident Key")
    monkeypatch.setenv("JIRA_ISSUE_TYPE", "Bug")
    settings = Settings(_env_file=None)
    assert settings.jira_team_owners == {"platform": "alice"}
    assert settings.jira_dedup_field == "Incident Key"
    assert settings.jira_issue_type == "Bug"


def test_jira_defaults(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    for name in ("JIRA_TEAM_OWNERS", "JIRA_DEDUP_FIELD", "JIRA_ISSUE_TYPE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert (settings.jira_team_owners, settings.jira_dedup_field, settings.jira_issue_type) == (
        {},
        "Dedup Key",
        "Task",
    )


def test_the_jira_module_has_no_settings_class_of_its_own():
    import helpers.jira

    assert not hasattr(helpers.jira, "JiraSettings")
    assert not hasattr(helpers.jira, "jira_settings")


def test_automation_settings_are_optional_and_secrets_stay_secret(monkeypatch, tmp_path):
    _isolated(monkeypatch, tmp_path)
    for name in ("AUTOMATION_SPLUNK_WEBHOOK_URL", "AUTOMATION_TOKEN", "AUTOMATION_POLICY"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(_env_file=None).automation_token is None
    monkeypatch.setenv("AUTOMATION_SPLUNK_WEBHOOK_URL", "http://127.0.0.1:9000/splunk/t0k3n")
    monkeypatch.setenv("AUTOMATION_TOKEN", "t0k3n")
    monkeypatch.setenv("AUTOMATION_POLICY", "policy.yml")
    monkeypatch.setenv("JIRA_WEBHOOK_SECRET", "hook-secret")
    settings = Settings(_env_file=None)
    assert isinstance(settings.automation_token, SecretStr)
    assert settings.require("automation_token") == "t0k3n"
    assert settings.require("jira_webhook_secret") == "hook-secret"
    assert settings.automation_policy == Path("policy.yml")
    assert settings.require("automation_splunk_webhook_url").endswith("/t0k3n")
    assert "t0k3n" not in repr(settings) and "hook-secret" not in repr(settings)


def test_settings_come_from_the_lab_env_file(monkeypatch, tmp_path):
    from helpers.config import load_settings

    _isolated(monkeypatch, tmp_path)
    monkeypatch.delenv("JIRA_TEAM_OWNERS", raising=False)
    home = tmp_path / "lab"
    home.mkdir()
    (home / "env").write_text('JIRA_TEAM_OWNERS={"data": "bob"}\n')
    monkeypatch.setenv("LAB_HOME", str(home))
    assert load_settings().jira_team_owners == {"data": "bob"}


def test_team_owners_as_json_text_also_when_passed_directly():
    assert Settings(_env_file=None, jira_team_owners='{"a": "b"}').jira_team_owners == {"a": "b"}


def test_hec_verification_is_a_switch_or_a_ca_bundle_that_exists(tmp_path):
    def verify(value):
        return Settings(_env_file=None, splunk_hec_verify=value).splunk_hec_verify

    assert Settings(_env_file=None).splunk_hec_verify is True
    assert [verify(v) for v in ("false", "Off", "0", "no", "true", "on")] == [
        False, False, False, False, True, True,
    ]  # fmt: skip
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert verify(str(bundle)) == str(bundle)
    with pytest.raises(ValueError, match="SPLUNK_HEC_VERIFY must be true, false or a CA bundle"):
        verify(str(tmp_path / "missing.pem"))
