"""How the service is configured and registered (no process needed)."""

from __future__ import annotations

import pytest

from labstack import services
from labstack.slack.__main__ import build_app, redact
from labstack.slack.store import DEFAULT_CHANNELS
from labstack.slack.webhooks import webhook_path

ENV = {"SLACK_BOT_TOKEN": "xoxb-lab-x", "SLACK_SIGNING_SECRET": "s"}


def test_registered_with_the_settings_clients_need():
    service = services.get("slack")
    assert service.module == "labstack.slack"
    assert set(service.secrets) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
    settings = service.settings(
        {"api": 9002}, {"SLACK_BOT_TOKEN": "t", "SLACK_SIGNING_SECRET": "s"}, "http"
    )
    assert settings["SLACK_API_URL"] == "http://127.0.0.1:9002/api/"
    assert settings["SLACK_BOT_TOKEN"].startswith("xoxb-")
    assert settings["SLACK_SIGNING_SECRET"] == "s"
    assert settings["SLACK_CHANNEL"] == "#sec-alerts"
    path = webhook_path(settings["SLACK_BOT_TOKEN"], "C0LAB00001")
    assert settings["SLACK_WEBHOOK_URL"] == "http://127.0.0.1:9002" + path


def test_request_url_defaults_to_the_automation_server(tmp_path):
    env = dict(ENV, LAB_STATE_DIR=str(tmp_path), AUTOMATION_URL="http://127.0.0.1:8000/")
    assert build_app(env).request_url() == "http://127.0.0.1:8000/slack/actions"
    assert build_app(dict(ENV, LAB_STATE_DIR=str(tmp_path))).request_url() is None


def test_the_secbot_command_defaults_to_the_automation_server(tmp_path):
    env = dict(ENV, LAB_STATE_DIR=str(tmp_path), AUTOMATION_URL="http://127.0.0.1:8000/")
    assert build_app(env).commands() == {"/secbot": "http://127.0.0.1:8000/slack/commands"}
    assert build_app(dict(ENV, LAB_STATE_DIR=str(tmp_path))).commands() == {}


def test_the_configured_channel_comes_first(tmp_path):
    app = build_app(dict(ENV, LAB_STATE_DIR=str(tmp_path), SLACK_CHANNEL="#soc"))
    names = [c["name"] for c in app.store.channels()]
    assert names == ["soc", *DEFAULT_CHANNELS]


def test_missing_secret_is_named(tmp_path):
    with pytest.raises(SystemExit, match="SLACK_SIGNING_SECRET"):
        build_app({"SLACK_BOT_TOKEN": "x", "LAB_STATE_DIR": str(tmp_path)})


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (
            "POST /services/T0LAB0001/B0LAB00001/abc123 HTTP/1.1",
            "/services/T0LAB0001/B0LAB00001/***",
        ),
        ("POST /actions/T0LAB0001/3/tok-en_1 HTTP/1.1", "/actions/T0LAB0001/3/***"),
        ("POST /commands/T0LAB0001/3/abc123 HTTP/1.1", "/commands/T0LAB0001/3/***"),
        ("GET /api/conversations.history?token=xoxb-1&channel=C1 HTTP/1.1", "token=***&channel"),
    ],
)
def test_secrets_are_not_logged(line, shown):
    assert shown in redact(line)
    assert "abc123" not in redact(line) and "xoxb-1" not in redact(line)
