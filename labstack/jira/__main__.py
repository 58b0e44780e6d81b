"""``python -m labstack.jira``: serve the lab's Jira on 127.0.0.1:$LAB_PORT_JIRA until SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import make_server

from labstack.jira.app import build
from labstack.jira.catalog import Config

BIND_HOST = "127.0.0.1"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = Config.from_env()
    app = build(config)
    server = make_server(BIND_HOST, config.port, app.wsgi, threaded=True)
    app.dispatcher.start()

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("labstack.jira").info(
        "Lab Jira (%s) on %s, state in %s", config.deployment, config.base_url, config.state_dir
    )
    server.serve_forever()
    app.dispatcher.stop()


if __name__ == "__main__":
    main()
