"""``python -m labstack.splunk``: serve splunkd's API and the HEC on 127.0.0.1 until SIGTERM.

Sockets come from ``LAB_FD_SPLUNK``/``LAB_PORT_SPLUNK`` (management API and pages) and
``LAB_FD_SPLUNK_HEC``/``LAB_PORT_SPLUNK_HEC``; every other setting is in :mod:`.config`
(``LAB_SPLUNK_TLS=on``: the management port and HEC speak HTTPS, see :mod:`.tls`).
"""

from __future__ import annotations

import logging
import socket
import sys

from helpers.runtime.serve import BIND_HOST, Server, bind, listener, run
from labstack.splunk import tls
from labstack.splunk.app import build
from labstack.splunk.config import Config

#: Seconds a thread may hold the GIL while others wait (CPython's default is 0.005). HEC
#: requests parse JSON in Python while the store's inserts run in DuckDB and need the GIL back
#: only briefly; a shorter interval keeps those inserts from queueing behind parsing threads.
SWITCH_INTERVAL = 0.001
#: Seconds a connection may stay silent before it is closed (a stalled body, an idle
#: keep-alive), like splunkd's busyKeepAliveIdleTimeout; senders reconnect as they would.
READ_TIMEOUT = 30.0
#: Where in the state folder the management port's certificate and key are kept.
TLS_DIR = "tls"
log = logging.getLogger("labstack.splunk")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    sys.setswitchinterval(SWITCH_INTERVAL)
    config = Config.from_env()
    api_fd, api_port = listener("splunk")
    hec_fd, hec_port = listener("splunk", "hec")
    # The API's socket first: alerts link to where it listens (results_link).
    api_sock = (
        socket.socket(fileno=api_fd) if api_fd is not None
        else bind(BIND_HOST, api_port, "LAB_PORT_SPLUNK")
    )  # fmt: skip
    scheme = "https" if config.tls else "http"
    app = build(config, web_url=f"{scheme}://{BIND_HOST}:{api_sock.getsockname()[1]}")
    context = tls.server_context(config.state_dir / TLS_DIR) if config.tls else None
    api_server = Server(app.api, fd=api_sock.detach(), setting="LAB_PORT_SPLUNK",
                        read_timeout=READ_TIMEOUT, name="api", ssl_context=context)  # fmt: skip
    hec_server = Server(app.hec, port=hec_port, fd=hec_fd, setting="LAB_PORT_SPLUNK_HEC",
                        read_timeout=READ_TIMEOUT, name="hec", ssl_context=context)  # fmt: skip
    app.start()
    run([api_server, hec_server])
    app.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
