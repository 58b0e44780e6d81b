"""Secrets at rest: the lab state is its owner's only; the Jira webhook secret is kept once."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid

import requests

from helpers.runtime import home
from helpers.runtime.home import private_dir, write_private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_worlds_state_files_are_0600_in_0700_folders(lab_world):
    folders, files = [lab_world.home], []
    for root, dirs, names in os.walk(lab_world.home):
        folders += [os.path.join(root, d) for d in dirs]
        files += [os.path.join(root, n) for n in names]
    assert {f for f in folders if mode(f) != 0o700} == set()
    assert {f for f in files if mode(f) != 0o600} == set()
    assert any(f.endswith("jira.sqlite3") for f in files)
    assert any(f.endswith("workspace.sqlite") for f in files)


def test_private_files_are_never_readable_by_others_even_for_a_moment(tmp_path, monkeypatch):
    old = os.umask(0)  # the mode must not depend on the umask
    try:
        target = tmp_path / "lab" / "env"
        private_dir(target.parent)
        target.write_text("old")
        target.chmod(0o644)
        seen = []
        replace = os.replace
        monkeypatch.setattr(home.os, "replace", lambda a, b: (seen.append(mode(a)), replace(a, b)))
        write_private(target, "export JIRA_TOKEN=x\n")
    finally:
        os.umask(old)
    assert seen == [0o600] and mode(target) == 0o600 and mode(target.parent) == 0o700
    assert target.read_text() == "export JIRA_TOKEN=x\n"


def test_the_jira_webhook_secret_is_stored_once(lab_world):
    url, user, token = (lab_world.settings[k] for k in ("JIRA_URL", "JIRA_USER", "JIRA_TOKEN"))
    http = requests.Session()
    http.trust_env = False
    http.auth = (user, token)
    secret = f"s-{uuid.uuid4().hex}"
    hook = http.post(
        url + "/rest/webhooks/1.0/webhook",
        json={"name": "once", "url": "http://127.0.0.1:9/", "events": ["jira:issue_created"],
              "secret": secret},
        timeout=10,
    ).json()  # fmt: skip
    try:
        for n in range(3):  # three deliveries queued for the hook
            fields = {"project": {"key": "SEC"}, "summary": f"s{n}", "issuetype": {"name": "Task"}}
            assert http.post(url + "/rest/api/2/issue", json={"fields": fields}, timeout=10).ok
        db = sqlite3.connect(lab_world.home / "state" / "jira" / "jira.sqlite3")
        try:
            dump = "\n".join(db.iterdump())
        finally:
            db.close()
        assert dump.count(secret) == 1
        assert "webhook_id" in dump  # the deliveries are there, without it
    finally:
        http.delete(hook["self"], timeout=10)
