"""A restarted workspace keeps its channels, messages, threads and interactions."""

from __future__ import annotations

import json
import sqlite3

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from labstack.slack.webhooks import webhook_path
from tests.slack.lab import SlackAdmin, slack_process

TOKEN = "lab-restart-test-token"
SECRET = "restart-test-signing-secret"


def test_messages_survive_a_restart(tmp_path):
    with slack_process(tmp_path, TOKEN, SECRET) as url:
        client = WebClient(token=TOKEN, base_url=url + "/api/")
        admin = SlackAdmin(url + "/api/", TOKEN)
        extra = admin.new_channel("kept")
        parent = client.chat_postMessage(channel="#sec-alerts", text="incident")
        client.chat_postMessage(channel=parent["channel"], text="follow-up", thread_ts=parent["ts"])
        hook = WebhookClient(url + webhook_path(TOKEN, parent["channel"]))
        assert hook.send(text="via webhook").body == "ok"
        before = client.conversations_history(channel=parent["channel"])["messages"]

    with slack_process(tmp_path, TOKEN, SECRET) as url:
        client = WebClient(token=TOKEN, base_url=url + "/api/")
        after = client.conversations_history(channel=parent["channel"])["messages"]
        assert after == before
        thread = client.conversations_replies(channel=parent["channel"], ts=parent["ts"])
        assert [m["text"] for m in thread["messages"]] == ["incident", "follow-up"]
        names = [c["name"] for c in client.conversations_list()["channels"]]
        assert extra["name"] in names
        # New messages still sort after the old ones.
        newer = client.chat_postMessage(channel=parent["channel"], text="after restart")
        assert float(newer["ts"]) > max(float(m["ts"]) for m in before)
        # The webhook URL is stable across restarts.
        assert (
            WebhookClient(url + webhook_path(TOKEN, parent["channel"])).send(text="x").body == "ok"
        )


def test_state_is_under_the_state_dir(tmp_path):
    with slack_process(tmp_path, TOKEN, SECRET) as url:
        WebClient(token=TOKEN, base_url=url + "/api/").chat_postMessage(
            channel="#general", text="stored"
        )
    with sqlite3.connect(tmp_path / "workspace.sqlite") as db:
        texts = [json.loads(doc)["text"] for (doc,) in db.execute("SELECT doc FROM messages")]
    assert "stored" in texts


def test_a_workspace_json_from_an_older_lab_is_imported(tmp_path):
    from labstack.slack.store import Store

    old = Store(tmp_path / "old")
    channel = old.channel("general")["id"]
    old.post(channel, {"text": "from before", "user": "U0LAB0001"})
    legacy = {**old.data}
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "workspace.json").write_text(json.dumps(legacy))
    new = Store(tmp_path / "new")
    assert [m["text"] for m in new.history(channel)] == ["from before"]
    assert (tmp_path / "new" / "workspace.json.imported").exists()


def test_webhook_keys_stay_out_of_the_log(tmp_path):
    with slack_process(tmp_path, TOKEN, SECRET) as url:
        path = webhook_path(TOKEN, "C0LAB00001")
        assert WebhookClient(url + path).send(text="x").body == "ok"
    log = (tmp_path / "service.log").read_text()
    assert "/services/T0LAB0001/" in log
    assert path.rsplit("/", 1)[1] not in log
