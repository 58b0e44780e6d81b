"""Hostile Web API and webhook input is a clean Slack error, and nothing stored breaks a page."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from labstack.slack.app import SlackApp
from labstack.slack.store import Store
from tests.slack.lab import ViewUser

SECTION_TEXT_STRING = [{"type": "section", "text": "plain words"}]
JS_BUTTON = [
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "url": "javascript:x"}
        ],
    }
]


@pytest.fixture
def api(slack_settings):
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {slack_settings['SLACK_BOT_TOKEN']}"
    base = slack_settings["SLACK_API_URL"]

    def call(method: str, **body) -> dict:
        resp = session.post(base + method, data=json.dumps(body), timeout=30,
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert resp.status_code == 200, resp.text[:300]
        return resp.json()

    return call


@pytest.mark.parametrize(
    ("method", "args", "code"),
    [
        ("conversations.history", {"oldest": [1]}, "invalid_arguments"),
        ("conversations.history", {"latest": {"a": 1}}, "invalid_arguments"),
        ("conversations.history", {"oldest": "yesterday"}, "invalid_ts_oldest"),
        ("conversations.history", {"limit": [5]}, "invalid_arguments"),
        ("conversations.replies", {"ts": [1]}, "invalid_arguments"),
        ("chat.postMessage", {"text": ["x"]}, "invalid_arguments"),
        ("chat.postMessage", {"text": "x", "thread_ts": {"a": 1}}, "invalid_arguments"),
        ("chat.postMessage", {"text": "x", "blocks": "[" * 5000}, "invalid_blocks"),
        ("chat.postMessage", {"text": "x", "blocks": SECTION_TEXT_STRING}, "invalid_blocks"),
        ("chat.postMessage", {"text": "x", "blocks": JS_BUTTON}, "invalid_blocks"),
        ("chat.update", {"ts": [1], "text": "x"}, "invalid_arguments"),
    ],
)
def test_type_confused_arguments_are_slack_errors(api, channel, method, args, code):
    body = api(method, channel=channel["id"], **args)
    assert body["ok"] is False and body["error"] == code


def test_invalid_blocks_name_the_block(api, channel):
    body = api("chat.postMessage", channel=channel["id"], text="x", blocks=SECTION_TEXT_STRING)
    assert body["errors"] == ["must be a text object [json-pointer:/blocks/0/text]"]
    body = api("chat.postMessage", channel=channel["id"], text="x", blocks=JS_BUTTON)
    assert body["errors"] == ["must be an http(s) URL [json-pointer:/blocks/0/elements/0/url]"]
    assert api("conversations.history", channel=channel["id"])["messages"] == []


def test_deep_json_bodies_are_invalid_json(slack_settings, channel):
    resp = requests.post(
        slack_settings["SLACK_API_URL"] + "chat.postMessage",
        data="[" * 100_000,
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {slack_settings['SLACK_BOT_TOKEN']}"},
        timeout=30,
    )  # fmt: skip
    assert resp.json() == {"ok": False, "error": "invalid_json"}
    hook = requests.post(channel["webhook_url"], data="{" * 100_000, timeout=30)
    assert (hook.status_code, hook.text) == (400, "invalid_payload")


def test_webhooks_refuse_invalid_blocks_and_store_nothing(api, channel):
    resp = requests.post(channel["webhook_url"], json={"blocks": SECTION_TEXT_STRING}, timeout=10)
    assert (resp.status_code, resp.text) == (400, "invalid_blocks")
    assert api("conversations.history", channel=channel["id"])["messages"] == []


def test_the_channel_page_draws_what_it_can_of_a_broken_store(tmp_path):
    store = Store(tmp_path)
    cid = store.channels()[0]["id"]
    store.post(cid, {"text": "fine message"})
    store.post(cid, {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": 5}}]})
    store.post(cid, {"blocks": [{"type": "header", "text": {"text": ["x"]}}], "username": [1]})
    page = Client(SlackApp(store, "token", "secret")).get(f"/archives/{cid}")
    assert page.status_code == 200
    assert "fine message" in page.text and "<div>5</div>" in page.text
    assert "[a message the view cannot show]" in page.text


ARG = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    ARG, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)  # fmt: skip
NAMES = st.sampled_from(
    ["text", "blocks", "attachments", "metadata", "thread_ts", "oldest", "latest", "limit",
     "cursor", "ts", "inclusive", "include_all_metadata"]
)  # fmt: skip
METHODS = st.sampled_from(
    ["chat.postMessage", "chat.update", "conversations.history", "conversations.replies"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=METHODS, args=st.dictionaries(NAMES, JSON, max_size=5), as_form=st.booleans())
def test_generated_hostile_calls_never_fail_the_service(
    slack_settings, admin, channel, method, args, as_form
):
    headers = {"Authorization": f"Bearer {slack_settings['SLACK_BOT_TOKEN']}"}
    body = {"channel": channel["id"], **args}
    if as_form:  # a form sends strings; JSON arguments as JSON text
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    else:
        data, headers["Content-Type"] = json.dumps(body), "application/json"
    url = slack_settings["SLACK_API_URL"] + method
    resp = requests.post(url, data=data, headers=headers, timeout=30)
    assert resp.status_code == 200 and isinstance(resp.json()["ok"], bool), resp.text[:300]
    ViewUser(admin.root).page(channel["id"])  # raises on a 5xx


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_lab/channels", [1, 2]),
        ("/_lab/channels", {"name": {"a": 1}}),
        ("/_lab/click", {"channel": ["C1"], "ts": "1.0", "action_id": "a"}),
        ("/_lab/click", "[" * 100_000),
    ],
)
def test_the_admin_api_refuses_bad_bodies_with_400(admin, path, body):
    data = body if isinstance(body, str) else json.dumps(body)
    resp = admin.session.post(admin.root + path, data=data, timeout=30,
                              headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 400 and resp.json()["ok"] is False
