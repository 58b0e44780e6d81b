"""Run the emulated AWS account: ``python -m labstack.aws`` (started by ``lab up``).

Environment: ``LAB_FD_AWS``/``LAB_PORT_AWS`` (the listening socket ``lab up`` binds),
``LAB_CLOUDTRAIL_DELIVERY_SECONDS`` (default 1; 300 feels like AWS), ``LAB_RANDOM_SEED`` (moto's id
generator; default 1, so a fresh world always has the same resource ids).
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

from helpers.runtime.serve import Server, listener, run
from labstack.aws import fixes, policy_simulation
from labstack.aws.account import Builder, load_account
from labstack.aws.recorder import Recorder

log = logging.getLogger("labstack.aws")


def main() -> int:
    # The lab account attaches AWS managed policies (AdministratorAccess, PowerUserAccess).
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fd, port = listener("aws")
    interval = float(os.environ.get("LAB_CLOUDTRAIL_DELIVERY_SECONDS", "1"))
    record = os.environ.get("LAB_CLOUDTRAIL_RECORDER", "on") != "off"
    fixes.apply()
    policy_simulation.apply()
    account = load_account()
    moto_app = DomainDispatcherApplication(create_backend_app)
    recorder = Recorder(
        moto_app,
        account_id=account.account_id,
        root_keys={account.root_access_key.id: account.account_id},
        interval=interval,
    )
    app = recorder if record else _HealthOnly(moto_app, recorder)
    server = Server(
        app, port=port, fd=fd, health=lambda: _health(recorder), setting="LAB_PORT_AWS",
        request_handler=MotoRequestHandler, name="aws",
    )  # fmt: skip
    endpoint = server.url

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

    def stop() -> None:
        if recorder.ready.is_set():
            recorder.stop()

    threading.Thread(target=build, name="bootstrap", daemon=True).start()
    return run([server], on_stop=stop)


def _health(recorder: Recorder) -> dict:
    ready = recorder.ready.is_set()
    return {"ready": ready, "status": "ok" if ready else "starting", "account": recorder.account_id}


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
