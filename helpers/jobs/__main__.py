"""``python -m helpers.jobs``: run jobs.yml's jobs when they are due and serve their page.

Settings as everywhere in the toolkit: ``JOBS_FILE`` (default ``./jobs.yml``, else the lab's),
``JOBS_ARCHIVE`` (default ``<lab home>/jobs``), ``JOBS_SCHEDULER`` (``off``: the page only), and
whatever the notebooks need (``AWS_*``, ``AUTOMATION_URL``...). It listens on
``LAB_PORT_JOBS`` (or ``--port``) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from helpers.config import get_settings
from helpers.jobs.config import JobsError
from helpers.jobs.service import build
from helpers.runtime.serve import PortInUse, Server, listener, port_env_name, run

log = logging.getLogger("helpers.jobs")

#: The port when neither the world nor --port gives one.
DEFAULT_PORT = 8790


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.jobs", description=__doc__)
    parser.add_argument("--port", type=int, help="listen port (default: $LAB_PORT_JOBS)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--jobs", type=Path, help="the jobs file (default: $JOBS_FILE)")
    schedule = parser.add_mutually_exclusive_group()
    schedule.add_argument("--schedule", dest="scheduling", action="store_true", default=None,
                          help="run jobs when due, whatever JOBS_SCHEDULER says")  # fmt: skip
    schedule.add_argument("--no-schedule", dest="scheduling", action="store_false",
                          help="serve the page only")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        service = build(get_settings(), path=args.jobs, scheduling=args.scheduling)
    except JobsError as err:
        print(f"jobs: {err}", file=sys.stderr)
        return 2
    for run_ in service.recovered:
        log.warning("%s: run %s was left unfinished; marked failed", run_.job, run_.id)
    fd, port = listener("jobs", default=DEFAULT_PORT)
    try:
        server = Server(
            service.app,
            host=args.host,
            port=args.port if args.port is not None else port,
            fd=None if args.port is not None else fd,
            setting=port_env_name("jobs"),
            health=service.health,
            name="jobs",
        )
    except PortInUse as err:
        print(f"jobs: {err}", file=sys.stderr)
        return 2
    service.start()
    log.info("jobs page on %s (scheduler %s)", server.url, service.health()["scheduler"])
    return run([server], on_stop=service.close)


if __name__ == "__main__":
    sys.exit(main())
