"""The Splunk stand-in reads its environment once, into a frozen Config (no process needed)."""

from __future__ import annotations

import dataclasses

import pytest

from labstack.splunk.config import Config

ENV = {"SPLUNK_PASSWORD": "p", "SPLUNK_HEC_TOKEN": "t"}


def test_missing_variables_are_named():
    with pytest.raises(SystemExit, match="SPLUNK_PASSWORD, SPLUNK_HEC_TOKEN"):
        Config.from_env({})
    with pytest.raises(SystemExit, match="SPLUNK_HEC_TOKEN"):
        Config.from_env({"SPLUNK_PASSWORD": "p"})


def test_settings_and_alerting_tunables(tmp_path):
    config = Config.from_env(
        dict(ENV, LAB_STATE_DIR=str(tmp_path), SPLUNK_TOKEN="tok", LAB_SPLUNK_SCHEDULER_SECONDS="2",
             AWS_ENDPOINT_URL="http://127.0.0.1:5000", UNRELATED="x")
    )  # fmt: skip
    assert (config.username, config.token, config.state_dir) == ("admin", "tok", tmp_path)
    assert config.alerting.tick == 2.0 and config.alerting.attempts == 8
    assert dict(config.action_env) == {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.password = "other"


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_tunable_is_named(value):
    with pytest.raises(SystemExit, match="LAB_SPLUNK_WEBHOOK_BACKOFF"):
        Config.from_env(dict(ENV, LAB_SPLUNK_WEBHOOK_BACKOFF=value))


def test_the_webhook_allow_list_is_off_unless_set_and_a_bad_regex_is_named():
    assert Config.from_env(ENV).webhook_allowlist == ()
    patterns = Config.from_env(dict(ENV, LAB_SPLUNK_WEBHOOK_ALLOWLIST=r"^https://a\. ^http://b"))
    assert patterns.webhook_allowlist == (r"^https://a\.", "^http://b")
    with pytest.raises(SystemExit, match=r"LAB_SPLUNK_WEBHOOK_ALLOWLIST has an invalid regex '\('"):
        Config.from_env(dict(ENV, LAB_SPLUNK_WEBHOOK_ALLOWLIST="("))
