"""``python -m labstack.splunk``: serve splunkd's API and the HEC on 127.0.0.1 until SIGTERM.

Environment (``lab up`` sets all of it): ``LAB_FD_SPLUNK``/``LAB_PORT_SPLUNK`` (management API and
search page), ``LAB_FD_SPLUNK_HEC``/``LAB_PORT_SPLUNK_HEC``, ``LAB_STATE_DIR`` (the DuckDB file and
saved searches), ``SPLUNK_USERNAME``, ``SPLUNK_PASSWORD``, ``SPLUNK_HEC_TOKEN`` and, optionally,
``SPLUNK_TOKEN`` (an authentication token accepted as ``Splunk <t>`` or ``Bearer <t>``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from helpers.runtime.serve import Server, listener, run
from labstack.splunk.alerts import Alerting
from labstack.splunk.api import Splunkd
from labstack.splunk.auth import Auth
from labstack.splunk.hec import HecApp
from labstack.splunk.store import EventStore
from labstack.splunk.web import web_routes

#: Seconds a thread may hold the GIL while others wait (CPython's default is 0.005). HEC
#: requests parse JSON in Python while the store's inserts run in DuckDB and need the GIL back
#: only briefly; a shorter interval keeps those inserts from queueing behind parsing threads.
SWITCH_INTERVAL = 0.001
log = logging.getLogger("labstack.splunk")


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"labstack.splunk: environment variable {name} is not set (`lab up` sets it)")
    return value


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sys.setswitchinterval(SWITCH_INTERVAL)
    api_fd, api_port = listener("splunk")
    hec_fd, hec_port = listener("splunk", "hec")
    state = Path(os.environ.get("LAB_STATE_DIR") or ".lab/state/splunk")
    state.mkdir(parents=True, exist_ok=True)
    auth = Auth(
        os.environ.get("SPLUNK_USERNAME") or "admin",
        _require("SPLUNK_PASSWORD"),
        token=os.environ.get("SPLUNK_TOKEN") or None,
    )
    store = EventStore(str(state / "events.duckdb"))
    splunkd = Splunkd(store, state, auth, extra_routes=web_routes)
    hec = HecApp(store, _require("SPLUNK_HEC_TOKEN"), indexes=splunkd.known_indexes)
    hec_server = Server(hec, port=hec_port, fd=hec_fd, setting="LAB_PORT_SPLUNK_HEC", name="hec")
    api_server = Server(splunkd, port=api_port, fd=api_fd, setting="LAB_PORT_SPLUNK", name="api")
    alerting = Alerting.attach(splunkd, state, web=api_server.url)
    alerting.start()
    run([api_server, hec_server])
    alerting.stop()
    splunkd.jobs.shutdown()
    close = getattr(store, "close", None)
    if close is not None:
        close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
