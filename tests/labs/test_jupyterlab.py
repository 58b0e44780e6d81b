"""An exercise solved in JupyterLab, as a student would: JupyterLab serves a copy of exercise 01
with its solution filled in, headless Chromium opens it, runs every cell from the Run menu, and
the check's pass shows in the page.

JupyterLab runs on a port the system picks, with token auth, its own config, data, runtime and
settings folders, and nothing it would fetch (news, update checks, the PyPI extension manager).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from helpers.checks import PASS, TRY_AGAIN
from tools import make_labs

pytestmark = pytest.mark.stack

EXERCISE = "01_remediate_security_group.ipynb"
START_WAIT = 60.0
RUN_WAIT = 90.0


@contextmanager
def jupyterlab(root: Path, home: Path):
    """JupyterLab serving ``root``; yields ``(base_url, token)`` and stops it afterwards."""
    token = secrets.token_urlsafe(24)
    folders = {name: home / name for name in ("config", "data", "runtime", "settings", "spaces")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    config = {
        "ServerApp": {"terminals_enabled": False},
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
            "extension_manager": "readonly",
            "user_settings_dir": str(folders["settings"]),
            "workspaces_dir": str(folders["spaces"]),
        },
    }
    (folders["config"] / "jupyter_server_config.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(folders["config"]),
        "JUPYTER_DATA_DIR": str(folders["data"]),
        "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
    }
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port=0", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
               f"--IdentityProvider.token={token}"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses root without it
    log = (home / "jupyterlab.log").open("wb")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        yield _wait_until_serving(proc, folders["runtime"], token, home / "jupyterlab.log"), token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _wait_until_serving(proc, runtime: Path, token: str, log: Path) -> str:
    http = requests.Session()
    http.trust_env = False
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        for info in runtime.glob("jpserver-*.json"):
            url = f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
            try:
                if http.get(f"{url}/api/status", params={"token": token}, timeout=2).ok:
                    return url
            except requests.RequestException:
                pass
        time.sleep(0.2)
    pytest.fail(f"JupyterLab did not start within {START_WAIT:.0f}s:\n{log.read_text()[-3000:]}")


def _wait_for_kernel(url: str, token: str) -> None:
    """Until the page's kernel has started and is idle (a Run All before it is lost)."""
    http = requests.Session()
    http.trust_env = False
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        sessions = http.get(f"{url}/api/sessions", params={"token": token}, timeout=5).json()
        if any(
            s["path"].endswith(EXERCISE) and s["kernel"]["execution_state"] == "idle"
            for s in sessions
        ):
            return
        time.sleep(0.2)
    pytest.fail(f"the notebook's kernel was not idle within {START_WAIT:.0f}s")


def _click_menu(browser, menu: str, command: str) -> None:
    """Open the menu bar's ``menu`` and click the item for ``command``, as a person would."""
    index = browser.evaluate(
        "[...document.querySelectorAll('.lm-MenuBar-item')]"
        f".findIndex(e => e.textContent.trim() === {json.dumps(menu)})"
    )
    assert index >= 0, f"JupyterLab has no {menu} menu"
    browser.click(f".lm-MenuBar-item:nth-child({index + 1})")
    item = f'.lm-Menu-item[data-command="{command}"]'
    browser.wait_for(f"document.querySelector({json.dumps(item)}) !== null", f"{command} item")
    browser.click(item)


def _outputs(browser) -> str:
    """The text of every cell output in the page (textContent: cells scrolled out of view count)."""
    return browser.evaluate(
        "[...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent)"
        ".join('\\n')"
    )


def test_an_exercise_with_its_solution_passes_its_check_in_jupyterlab(browser, lab_world, tmp_path):
    root = tmp_path / "labs"
    root.mkdir()
    shutil.copy(make_labs.SOLUTIONS / EXERCISE, root / EXERCISE)  # JupyterLab may save it
    with jupyterlab(root, tmp_path / "jupyter") as (url, token):
        # JupyterLab takes the token out of the address, so this waits for the cells instead
        browser.call("Page.navigate", url=f"{url}/lab/tree/{EXERCISE}?token={token}")
        browser.wait_for("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 5", "cells")
        _wait_for_kernel(url, token)
        _click_menu(browser, "Run", "runmenu:run-all")
        deadline = time.monotonic() + RUN_WAIT
        while PASS not in (outputs := _outputs(browser)) and TRY_AGAIN not in outputs:
            assert time.monotonic() < deadline, f"no check answered within {RUN_WAIT:.0f}s"
            time.sleep(0.5)
    assert f"{PASS} " in outputs and "admits nothing from the whole internet" in outputs, outputs
    assert TRY_AGAIN not in outputs and "Traceback" not in outputs, outputs
