"""`lab doctor` against the wired local world: all is well, and each broken setting is named by the
check it breaks (and only that one fails; what depends on it is skipped)."""

from __future__ import annotations

import json
import time

import pytest

from helpers import doctor, simulate
from helpers.config import Settings

pytestmark = pytest.mark.stack

WRONG_HOOK = "/splunk/webhook/not-the-token"


def findings(wired, **overrides) -> dict[str, doctor.Finding]:
    values = {k.lower(): v for k, v in wired.env.items()} | overrides
    settings = Settings(_env_file=None, **values)
    return {f"{f.product} {f.check}": f for f in doctor.run(settings)}


def failed(found: dict) -> set[str]:
    return {label for label, f in found.items() if f.status == "fail"}


def test_the_wired_world_is_well(wired):
    simulate.run("baseline", settings=wired.settings, count=3)  # so CloudTrail events arrive
    deadline = time.monotonic() + 60
    while True:
        found = findings(wired)
        bad = {k: (f.status, f.detail) for k, f in found.items() if f.status != "ok"}
        if not bad or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert bad == {}


BROKEN = {
    "AWS_ENDPOINT_URL": ({"aws_endpoint_url": "http://127.0.0.1:9"}, {"AWS identity"}),
    "CLOUDTRAIL_BUCKET": ({"cloudtrail_bucket": "no-such-bucket"}, {"AWS trail is logging"}),
    "CLOUDTRAIL_TRAIL": ({"cloudtrail_trail": "no-such-trail"}, {"AWS trail is logging"}),
    "CLOUDTRAIL_QUEUE": (
        {"cloudtrail_queue": "no-such-queue"},
        {"AWS ingest queue receives notifications"},
    ),
    "iam:UpdateAccessKey": (  # the developer's key instead of the automation's: PowerUserAccess
        {
            "automation_aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "automation_aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
        {"AWS automation identity has the playbooks' permissions"},
    ),
    "SPLUNK_TOKEN": ({"splunk_token": "not-the-token"}, {"Splunk REST login"}),
    "SPLUNK_PASSWORD": (
        {"splunk_token": "", "splunk_password": "not-the-password"},
        {"Splunk REST login"},
    ),
    "SPLUNK_HEC_TOKEN": (
        {"splunk_hec_token": "00000000-0000-0000-0000-000000000000"},
        {"Splunk HEC token"},
    ),
    "SPLUNK_INDEX": ({"splunk_index": "no_such_index"}, {"Splunk index"}),
    "AUTOMATION_SPLUNK_WEBHOOK_URL": (
        {"automation_splunk_webhook_url": "{url}" + WRONG_HOOK},
        {"Automation Splunk webhook URL", "Splunk detections installed"},
    ),
    "JIRA_TOKEN": ({"jira_token": "not-the-token"}, {"Jira myself"}),
    "JIRA_PROJECT": ({"jira_project": "NOPE"}, {"Jira project and issue type"}),
    "JIRA_ISSUE_TYPE": ({"jira_issue_type": "Spaceship"}, {"Jira project and issue type"}),
    "JIRA_DEDUP_FIELD": ({"jira_dedup_field": "No Such Field"}, {"Jira dedup field"}),
    "AUTOMATION_URL": (
        {"automation_url": "http://127.0.0.1:9"},
        {"Automation server", "Jira webhook to the automation"},
    ),
    "SLACK_BOT_TOKEN": ({"slack_bot_token": "not-the-bot-token"}, {"Slack auth"}),
    "SLACK_CHANNEL": ({"slack_channel": "#no-such-channel"}, {"Slack channel"}),
    "SLACK_SIGNING_SECRET": ({"slack_signing_secret": ""}, {"Slack interactivity URL"}),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_setting_is_named_by_its_check(wired, name):
    overrides, expected = BROKEN[name]
    overrides = {k: v.replace("{url}", wired.url) for k, v in overrides.items()}
    found = findings(wired, **overrides)
    assert failed(found) == expected
    first = found[sorted(expected)[0]] if len(expected) == 1 else None
    said = " ".join(f"{found[label].detail} {found[label].fix}" for label in expected)
    assert name in said, said
    if first is not None:
        assert first.fix, "a failure says how to fix it"


def test_lab_doctor_prints_and_exits_by_the_worst_finding(wired, monkeypatch, capsys):
    from helpers.config import get_settings
    from labstack.cli import main

    for key, value in wired.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JIRA_PROJECT", "NOPE")
    get_settings.cache_clear()
    try:
        assert main(["doctor", "--only", "jira"]) == 1
        out = capsys.readouterr().out
        assert "FAIL  Jira" in out and "JIRA_PROJECT=NOPE" in out and "fix:" in out
        assert main(["doctor", "--only", "slack", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert {r["product"] for r in rows} == {"Slack"}
    finally:
        get_settings.cache_clear()
