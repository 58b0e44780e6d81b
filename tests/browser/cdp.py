"""A headless Chromium driven over the DevTools protocol: just what the browser tests need.

It uses the system's Chromium (Debian's ``chromium`` package) and nothing downloaded at run time.
One page, one WebSocket: navigate, evaluate JavaScript, wait for a condition, click an element
with real mouse events, type into it with real key events, and take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
]
#: Upper bound for any wait: a page load, a condition, Chromium's start.
WAIT = 20.0


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with a fresh profile; use as a context manager."""

    def __init__(self, binary: str):
        self.binary = binary
        # Chromium's helper processes can still write to the profile while it is removed.
        self.profile = tempfile.TemporaryDirectory(
            prefix="lab-chromium-", ignore_cleanup_errors=True
        )
        self.proc: subprocess.Popen | None = None
        self.ws: websocket.WebSocket | None = None
        self._ids = itertools.count(1)

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        port = self._devtools_port()
        http = requests.Session()
        http.trust_env = False
        targets = self._poll(lambda: _pages(http, port), "a page target")
        self.ws = websocket.create_connection(
            targets[0]["webSocketDebuggerUrl"], timeout=WAIT, suppress_origin=True
        )
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def __exit__(self, *exc) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None:
            # The whole process group: the browser and its renderer and crashpad helpers.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.profile.cleanup()

    def _devtools_port(self) -> int:
        marker = Path(self.profile.name) / "DevToolsActivePort"

        def read() -> int | None:
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited with code {self.proc.returncode}")
            text = marker.read_text() if marker.exists() else ""
            return int(text.split()[0]) if text.strip() else None

        return self._poll(read, "Chromium's DevTools port")

    def _poll(self, probe, what: str):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.05)
        raise BrowserError(f"gave up waiting for {what}")

    # -- protocol ------------------------------------------------------------------------------
    def call(self, method: str, **params) -> dict:
        """Send one DevTools command and return its result (events in between are skipped)."""
        ident = next(self._ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str):
        """Poll a JavaScript expression until it is truthy (errors mid-navigation count as no)."""

        def probe():
            try:
                return self.evaluate(expression)
            except BrowserError:
                return None

        return self._poll(probe, what)

    # -- pages ---------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for(
            f"location.href.startsWith({json.dumps(url)}) && document.readyState === 'complete'",
            f"{url} to load",
        )

    def text(self) -> str:
        return self.evaluate("document.body.innerText")

    def visible(self, selector: str) -> bool:
        """The element exists, has a size and is not hidden."""
        return bool(
            self.evaluate(
                f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                " if (!e) return false; const r = e.getBoundingClientRect();"
                " return r.width > 0 && r.height > 0 &&"
                " getComputedStyle(e).visibility !== 'hidden'; })()"
            )
        )

    def click(self, selector: str) -> None:
        """Click the element's centre with real mouse events, as a person would."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        )
        if box is None:
            raise BrowserError(f"nothing matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box["x"],
                y=box["y"],
                button="left",
                clickCount=1,
            )

    def type(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` into it, as a keyboard would."""
        self.click(selector)
        focused = self.evaluate(
            f"document.activeElement === document.querySelector({json.dumps(selector)})"
        )
        if not focused:
            raise BrowserError(f"{selector} did not take the focus")
        self.call("Input.insertText", text=text)

    def press_enter(self) -> None:
        """Press and release Enter in the focused element (submits a form's text box)."""
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        self.call("Input.dispatchKeyEvent", type="keyDown", text="\r", **key)
        self.call("Input.dispatchKeyEvent", type="keyUp", **key)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def _pages(http: requests.Session, port: int) -> list[dict]:
    try:
        targets = http.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
    except requests.RequestException:
        return []
    return [t for t in targets if t.get("type") == "page"]
