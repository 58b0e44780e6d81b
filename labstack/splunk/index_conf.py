"""indexes.conf as the management API edits it: per index, the settings an admin changed
(``disabled`` and the sizing/retention keys), kept in the state folder.

>>> conf = IndexConf(Path(tempfile.mkdtemp()) / "indexes.json")
>>> conf.update("web", {"disabled": "1"}); conf.get("web")
{'disabled': '1'}
"""

from __future__ import annotations

import tempfile  # noqa: F401 - the docstring example
from pathlib import Path  # noqa: F401 - the docstring example

from labstack.splunk.knowledge_meta import KnowledgeMeta

__all__ = ["EDITABLE", "IndexConf"]

#: What ``POST data/indexes/<name>`` may change here (indexes.conf keys the lab shows).
EDITABLE = ("disabled", "frozenTimePeriodInSecs", "maxTotalDataSizeMB", "maxDataSize",
            "maxHotBuckets", "maxWarmDBCount", "repFactor", "enableOnlineBucketRepair",
            "maxHotSpanSecs", "maxHotIdleSecs", "quarantinePastSecs", "quarantineFutureSecs",
            "syncMeta", "coldToFrozenDir", "rotatePeriodInSecs")  # fmt: skip
#: splunkd's built-in indexes: always there, and never removable through the API.
BUILT_IN = ("_audit", "_internal", "_introspection", "_telemetry", "_thefishbucket",
            "history", "main", "summary")  # fmt: skip


class IndexConf(KnowledgeMeta):
    """Per index, the settings an admin changed (kept as :class:`KnowledgeMeta` keeps a
    knowledge object's attributes)."""

    def disabled(self, name: str) -> bool:
        return self.get(name).get("disabled") in ("1", "true", "True")
