"""The ingest service: ``python -m helpers.ingest`` (``--once`` drains the queue and exits).

As the ``ingest`` service of ``lab up`` it also answers ``GET /_lab/health`` with its counters
on the socket the world hands it (``LAB_FD_INGEST``) or on ``$LAB_PORT_INGEST``: 200 once SQS
answered, 503 before. Without HEC settings it idles (healthy, ``state: idle``, with the reason)
rather than failing, so ``lab up`` works before Splunk is configured.

>>> main(["--once", "--queue", "lab-cloudtrail-ingest"])               # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from helpers.config import Settings, get_settings
from helpers.hec import HecClient
from helpers.ingest.ingester import (
    FETCH_WORKERS,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    Ingester,
    Stats,
)
from helpers.runtime.serve import Server, listener, port_env_name

log = logging.getLogger("helpers.ingest")


class _Interrupted(BaseException):
    """Raised by the SIGTERM handler to cut a long poll short."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.ingest",
        description="SQS-based S3 input: CloudTrail files announced on a queue -> Splunk HEC.",
    )
    parser.add_argument("--queue", help="queue name or URL (default: CLOUDTRAIL_QUEUE)")
    parser.add_argument("--once", action="store_true", help="drain the queue, then exit")
    parser.add_argument("--index", help="Splunk index (default: SPLUNK_INDEX)")
    parser.add_argument("--host", help="the events' host field (default: this host's name)")
    parser.add_argument("--batch-bytes", type=int, default=MAX_BATCH_BYTES)
    parser.add_argument("--batch-events", type=int, default=MAX_BATCH_EVENTS)
    parser.add_argument("--workers", type=int, default=FETCH_WORKERS)
    parser.add_argument(
        "--port", type=int, help=f"health port (default: ${port_env_name('ingest')}; 0: none)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the input until SIGTERM (or once); see ``python -m helpers.ingest --help``."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    settings = get_settings()
    stop = threading.Event()
    state: dict[str, Any] = {"ready": False, "ingester": None, "idle": None}

    def status() -> dict:
        ingester = state["ingester"]
        info = ingester.stats.snapshot() if ingester else dict.fromkeys(Stats.FIELDS, 0)
        if state["idle"]:
            info["state"] = "idle"
            info["reason"] = state["idle"]
        info["ready"] = state["ready"]
        info["queue"] = ingester.queue if ingester else (args.queue or settings.cloudtrail_queue)
        info["hec"] = ingester.hec.event_url if ingester else None
        return info

    health = _health_server(args.port, status)

    def on_term(*_):
        stop.set()
        ingester = state["ingester"]
        if ingester is not None and ingester.in_long_poll:
            raise _Interrupted

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        return _serve(args, settings, stop, state)
    except _Interrupted:
        ingester = state["ingester"]
        if ingester is not None:
            ingester.drain()
        return 0
    finally:
        if state["ingester"] is not None:
            state["ingester"].close()
        if health is not None:
            health.stop()
        log.info("stopped")


def _health_server(port: int | None, status) -> Server | None:
    """``GET /_lab/health`` on the inherited socket or port (none when neither is given)."""
    fd, env_port = listener("ingest")
    port = port if port is not None else env_port
    if fd is None and not port:
        return None
    return Server(_not_found, fd=fd, port=port, health=status, name="ingest-health").start()


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


def _serve(args, settings: Settings, stop: threading.Event, state: dict) -> int:
    from helpers.aws import session

    queue = args.queue or settings.cloudtrail_queue
    missing = [
        name
        for name, value in (
            ("CLOUDTRAIL_QUEUE", queue),
            ("SPLUNK_HEC_URL", settings.splunk_hec_url),
            ("SPLUNK_HEC_TOKEN", settings.splunk_hec_token),
        )
        if not value
    ]
    aws = session(settings)
    sqs = aws.client("sqs")
    if missing:
        reason = f"{', '.join(missing)} not set: nothing to ingest from or to"
        log.warning("idle: %s (set them and restart)", reason)
        state["idle"] = reason
        if args.once:
            return 1
        _wait_until(stop, lambda: _reachable(sqs, queue), state)
        stop.wait()
        return 0
    ingester = Ingester(
        queue,
        HecClient.from_settings(settings),
        session=aws,
        index=args.index or settings.splunk_index,
        host=args.host,
        max_batch_bytes=args.batch_bytes,
        max_batch_events=args.batch_events,
        workers=args.workers,
    )
    state["ingester"] = ingester
    _wait_until(stop, lambda: bool(ingester.queue_url), state)
    if stop.is_set():
        return 0
    log.info(
        "ingesting %s -> %s (index %s)", ingester.queue_url, ingester.hec.event_url, ingester.index
    )
    ok = ingester.run(stop, once=args.once)
    return 0 if ok or not args.once else 1


def _reachable(sqs, queue: str | None) -> bool:
    if queue and not queue.startswith(("https://", "http://")):
        sqs.get_queue_url(QueueName=queue)
    else:
        sqs.list_queues(MaxResults=1)
    return True


def _wait_until(stop: threading.Event, check, state: dict) -> None:
    """Retry ``check`` with backoff until it passes; then the service is ready."""
    delay, logged = 0.2, False
    while not stop.is_set():
        try:
            if check():
                state["ready"] = True
                return
        except Exception as exc:
            if not logged:
                log.warning("SQS not reachable yet (%s); retrying", exc)
                logged = True
        stop.wait(delay)
        delay = min(delay * 2, 5.0)


if __name__ == "__main__":
    sys.exit(main())
