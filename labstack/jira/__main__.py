"""``python -m labstack.jira``: serve the lab's Jira on 127.0.0.1:$LAB_PORT_JIRA until SIGTERM."""

from __future__ import annotations

import logging

from helpers.runtime.serve import Server, listener, run
from labstack.jira.app import build
from labstack.jira.config import Config


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = Config.from_env()
    app = build(config)
    fd, port = listener("jira")
    server = Server(app.wsgi, port=port, fd=fd, setting="LAB_PORT_JIRA", name="jira")
    app.dispatcher.start()
    logging.getLogger("labstack.jira").info(
        "Lab Jira (%s) on %s, state in %s", config.deployment, config.base_url, config.state_dir
    )
    return run([server], on_stop=app.dispatcher.stop)


if __name__ == "__main__":
    raise SystemExit(main())
