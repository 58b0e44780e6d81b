"""Run the emulated AWS account: ``python -m labstack.aws`` (started by ``lab up``).

Environment: ``LAB_PORT_AWS`` (default 4566), ``LAB_CLOUDTRAIL_DELIVERY_SECONDS`` (default 1;
300 feels like AWS), ``LAB_RANDOM_SEED`` (moto's id generator; default 1, so a fresh world
always has the same resource ids).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import urllib.request

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from labstack.aws import fixes
from labstack.aws.account import Builder, load_account
from labstack.aws.recorder import Recorder

log = logging.getLogger("labstack.aws")


def main() -> int:
    # The lab account attaches AWS managed policies (AdministratorAccess, PowerUserAccess).
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = int(os.environ.get("LAB_PORT_AWS", "4566"))
    interval = float(os.environ.get("LAB_CLOUDTRAIL_DELIVERY_SECONDS", "1"))
    record = os.environ.get("LAB_CLOUDTRAIL_RECORDER", "on") != "off"
    fixes.apply()
    account = load_account()
    moto_app = DomainDispatcherApplication(create_backend_app)
    recorder = Recorder(
        moto_app,
        account_id=account.account_id,
        root_keys={account.root_access_key.id: account.account_id},
        interval=interval,
    )
    app = recorder if record else _HealthOnly(moto_app, recorder)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    endpoint = f"http://127.0.0.1:{port}"

    def build() -> None:
        try:
            _seed(endpoint, os.environ.get("LAB_RANDOM_SEED", "1"))
            Builder(endpoint, account).build()
            recorder.start()
            recorder.ready.set()
            log.info("lab account %s ready at %s", account.account_id, endpoint)
        except Exception:
            log.exception("building the lab account failed")
            os.kill(os.getpid(), signal.SIGTERM)

    def shutdown(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    threading.Thread(target=build, name="bootstrap", daemon=True).start()
    server.serve_forever()
    if recorder.ready.is_set():
        recorder.stop()
    return 0


def _seed(endpoint: str, seed: str) -> None:
    """Seed moto's id generator so a fresh world's resource ids are always the same."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{endpoint}/moto-api/seed?a={seed}", method="POST")
    opener.open(request, timeout=10).close()


class _HealthOnly:
    """The endpoint without recording (``LAB_CLOUDTRAIL_RECORDER=off``, for the benchmark)."""

    def __init__(self, app, recorder: Recorder):
        self.app, self.recorder = app, recorder

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_lab/"):
            return self.recorder(environ, start_response)
        return self.app(environ, start_response)


if __name__ == "__main__":
    sys.exit(main())
