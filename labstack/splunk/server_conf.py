"""server.conf's ``[general]``/``[settings]`` values that ``server/settings`` shows and edits,
kept in the state folder (an edit takes effect after a restart, as splunkd says it does).

>>> conf = ServerSettings(Path(tempfile.mkdtemp()) / "server_settings.json")
>>> conf.update({"sessionTimeout": "42h"})
>>> conf.values(host="h", port="8089", home="/lab")["sessionTimeout"]
'42h'
"""

from __future__ import annotations

import json
import re
import tempfile  # noqa: F401 - the docstring example
import threading
from pathlib import Path

from helpers.runtime.home import write_private

__all__ = ["ServerSettings"]

#: What ``server/settings/settings`` accepts (its other keys are read-only here).
EDITABLE = ("SPLUNK_DB", "enableSplunkWebSSL", "host", "httpport", "mgmtHostPort",
            "minFreeSpace", "pass4SymmKey", "serverName", "sessionTimeout", "startwebserver",
            "trustedIP")  # fmt: skip
#: Seconds per unit of a ``sessionTimeout`` value.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: splunkd never shows the secret; it answers with this mask.
MASK = "********"


class ServerSettings:
    """The stored edits over computed defaults; ``values`` is what the endpoint shows."""

    editable = EDITABLE

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._edits = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._edits = {}

    def update(self, edits: dict[str, str]) -> None:
        if "sessionTimeout" in edits and not re.fullmatch(
            r"\d+\s*[smhd]?", str(edits["sessionTimeout"]).strip().lower()
        ):
            raise ValueError(
                f"sessionTimeout must be a number of seconds, or of minutes, hours or days "
                f"(30m, 1h, 2d), got '{edits['sessionTimeout']}'"
            )
        with self._lock:
            self._edits.update({k: v for k, v in edits.items() if k in EDITABLE})
            write_private(self.path, json.dumps(self._edits, indent=1, sort_keys=True))

    def session_timeout(self) -> float | None:
        """The edited ``sessionTimeout`` in seconds (``90``, ``30m``, ``42h``, ``2d``), or None."""
        with self._lock:
            text = str(self._edits.get("sessionTimeout", "")).strip().lower()
        match = re.fullmatch(r"(\d+)\s*([smhd]?)", text)
        if not match:
            return None
        return int(match.group(1)) * UNITS[match.group(2) or "s"]

    def values(self, *, host: str, port: str, home: str, web_ssl: bool = False) -> dict:
        defaults = {
            "SPLUNK_HOME": home,
            "SPLUNK_DB": home,
            "enableSplunkWebSSL": "1" if web_ssl else "0",
            "host": host,
            "httpport": port,  # the lab's pages are served on the management port
            "mgmtHostPort": f"127.0.0.1:{port}",
            "minFreeSpace": "5000",
            "pass4SymmKey": MASK,
            "serverName": host,
            "sessionTimeout": "1h",
            "startwebserver": "1",
            "trustedIP": "",
        }
        with self._lock:
            edits = dict(self._edits)
        edits.pop("pass4SymmKey", None)
        return {**defaults, **edits}
