"""indexes.conf as the management API edits it: per index, the settings an admin changed
(``disabled`` and the sizing/retention keys), kept in the state folder.

>>> conf = IndexConf(Path(tempfile.mkdtemp()) / "indexes.json")
>>> conf.update("web", {"disabled": "1"}); conf.get("web")
{'disabled': '1'}
"""

from __future__ import annotations

import json
import tempfile  # noqa: F401 - the docstring example
import threading
from pathlib import Path

from helpers.runtime.home import write_private

__all__ = ["EDITABLE", "IndexConf"]

#: What ``POST data/indexes/<name>`` may change here (indexes.conf keys the lab shows).
EDITABLE = ("disabled", "frozenTimePeriodInSecs", "maxTotalDataSizeMB", "maxDataSize",
            "maxHotBuckets", "maxWarmDBCount", "repFactor", "enableOnlineBucketRepair",
            "maxHotSpanSecs", "maxHotIdleSecs", "quarantinePastSecs", "quarantineFutureSecs",
            "syncMeta", "coldToFrozenDir", "rotatePeriodInSecs")  # fmt: skip
#: splunkd's built-in indexes: always there, and never removable through the API.
BUILT_IN = ("_audit", "_internal", "_introspection", "_telemetry", "_thefishbucket",
            "history", "main", "summary")  # fmt: skip


class IndexConf:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conf = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._conf = {}

    def get(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._conf.get(name, {}))

    def disabled(self, name: str) -> bool:
        return self.get(name).get("disabled") in ("1", "true", "True")

    def update(self, name: str, settings: dict[str, str]) -> None:
        with self._lock:
            self._conf.setdefault(name, {}).update(settings)
            self._save()

    def forget(self, name: str) -> None:
        with self._lock:
            if self._conf.pop(name, None) is not None:
                self._save()

    def _save(self) -> None:
        write_private(self.path, json.dumps(self._conf, indent=1, sort_keys=True))
