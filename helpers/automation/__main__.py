"""``python -m helpers.automation``: serve the automation server until SIGTERM.

Settings as everywhere in the toolkit (environment, ``.env``, ``.lab/env``): ``AUTOMATION_TOKEN``
(required: the Splunk webhook URL's secret), ``JIRA_*``, ``SLACK_*``, ``SPLUNK_*``, ``AWS_*``,
``JIRA_WEBHOOK_SECRET``, ``AUTOMATION_POLICY``, ``AUTOMATION_ALERT_QUEUE`` (the SNS path),
``AUTOMATION_WORKERS``. It listens on ``LAB_PORT_AUTOMATION`` (or ``--port``) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from helpers.automation.service import build
from helpers.config import MissingSetting, get_settings
from helpers.runtime.queue import Worker
from helpers.runtime.serve import PortInUse, Server, listener, port_env_name, run

log = logging.getLogger("helpers.automation")

#: How often waiting approvals are checked for expiry and old history pruned (seconds).
TICK = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.automation", description=__doc__)
    parser.add_argument("--port", type=int, help="listen port (default: $LAB_PORT_AUTOMATION)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    try:
        service = build(settings)
    except MissingSetting as err:
        print(f"automation: {err}", file=sys.stderr)
        return 2
    fd, port = listener("automation", default=8000)
    try:
        server = Server(
            service.app,
            host=args.host,
            port=args.port if args.port is not None else port,
            fd=None if args.port is not None else fd,
            setting=port_env_name("automation"),
            health=lambda: {"ready": True, "inbox": service.inbox.counts()},
            name="automation",
        )
    except PortInUse as err:
        print(f"automation: {err}", file=sys.stderr)
        return 2
    automation = service.automation
    resumed = service.inbox.reclaim()  # this process is the inbox's only consumer
    if resumed:
        log.info("resuming %d item(s) a previous process was working on", resumed)
    workers = [
        Worker(service.inbox, automation.handle, name=f"automation-{i}", batch=1)
        for i in range(max(1, settings.automation_workers))
    ]
    consumer = None
    if settings.automation_alert_queue:
        from helpers.automation.sns_queue import AlertQueueConsumer

        sqs = automation.clients.aws("sqs")
        consumer = AlertQueueConsumer(automation, sqs, settings.automation_alert_queue)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TICK):
            try:
                automation.expire_approvals()
                automation.respond_overdue()
                service.inbox.prune()
                automation.store.prune_sightings()
            except Exception:
                log.exception("periodic upkeep failed")

    for worker in workers:
        worker.start()
    if consumer is not None:
        consumer.start()
    threading.Thread(target=tick, name="upkeep", daemon=True).start()
    log.info(
        "automation on %s (%d workers, SNS queue: %s)",
        server.url,
        len(workers),
        settings.automation_alert_queue or "none",
    )

    def on_stop() -> None:
        stop.set()
        if consumer is not None:
            consumer.stop()
        for worker in workers:
            worker.stop()
        service.close()
        log.info("stopped")

    return run([server], on_stop=on_stop)


if __name__ == "__main__":
    sys.exit(main())
