"""``python -m labstack.splunk``: serve splunkd's API and the HEC on 127.0.0.1 until SIGTERM.

Environment (``lab up`` sets all of it): ``LAB_PORT_SPLUNK`` (management API and search page,
default 8089), ``LAB_PORT_SPLUNK_HEC`` (default 8088), ``LAB_STATE_DIR`` (the DuckDB file and
saved searches), ``SPLUNK_USERNAME``, ``SPLUNK_PASSWORD``, ``SPLUNK_HEC_TOKEN`` and, optionally,
``SPLUNK_TOKEN`` (an authentication token accepted as ``Splunk <t>`` or ``Bearer <t>``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from labstack.splunk.alerts import Alerting
from labstack.splunk.api import Splunkd
from labstack.splunk.auth import Auth
from labstack.splunk.hec import HecApp
from labstack.splunk.store import EventStore
from labstack.splunk.web import web_routes

HOST = "127.0.0.1"
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
    api_port = int(os.environ.get("LAB_PORT_SPLUNK") or 8089)
    hec_port = int(os.environ.get("LAB_PORT_SPLUNK_HEC") or 8088)
    state = Path(os.environ.get("LAB_STATE_DIR") or ".lab/state/splunk")
    state.mkdir(parents=True, exist_ok=True)
    auth = Auth(
        os.environ.get("SPLUNK_USERNAME") or "admin",
        _require("SPLUNK_PASSWORD"),
        token=os.environ.get("SPLUNK_TOKEN") or None,
    )
    store = EventStore(str(state / "events.duckdb"))
    splunkd = Splunkd(store, state, auth, extra_routes=web_routes)
    alerting = Alerting.attach(splunkd, state, web=f"http://{HOST}:{api_port}")
    hec = HecApp(store, _require("SPLUNK_HEC_TOKEN"), indexes=splunkd.known_indexes)
    hec_server = make_server(HOST, hec_port, hec, threaded=True)
    api_server = make_server(HOST, api_port, splunkd, threaded=True)

    def stop(*_):
        threading.Thread(target=api_server.shutdown, daemon=True).start()
        threading.Thread(target=hec_server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    hec_thread = threading.Thread(target=hec_server.serve_forever, name="hec", daemon=True)
    hec_thread.start()
    alerting.start()
    log.info("splunkd on http://%s:%d, HEC on http://%s:%d", HOST, api_port, HOST, hec_port)
    api_server.serve_forever()
    hec_thread.join(timeout=10)
    alerting.stop()
    splunkd.jobs.shutdown()
    close = getattr(store, "close", None)
    if close is not None:
        close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
