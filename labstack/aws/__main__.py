"""Run the emulated AWS account: ``python -m labstack.aws`` (started by ``lab up``).

Environment: ``LAB_FD_AWS``/``LAB_PORT_AWS`` (the listening socket ``lab up`` binds),
``LAB_CLOUDTRAIL_DELIVERY_SECONDS`` (default 1; 300 feels like AWS), ``LAB_RANDOM_SEED`` (moto's id
generator; default 1, so a fresh world always has the same resource ids), ``LAB_STATE_DIR`` (where
the account is kept between runs: ``account.sqlite``), ``LAB_AWS_STATE`` (``disk``, the default, or
``memory``: nothing kept, the benchmark's baseline), ``LAB_AWS_ADMIN_TOKEN`` (moto's admin API).

The first start builds the lab account; every later start restores it as it was (see
:mod:`labstack.aws.persistence`) until ``lab reset`` removes the state folder.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from helpers.runtime.home import private_dir
from helpers.runtime.serve import Server, listener, run
from labstack.aws import fixes, policy_simulation
from labstack.aws.account import Builder, load_account
from labstack.aws.durable import Durable
from labstack.aws.persistence import StateError, StateStore, unit_name
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
    try:
        store = _store(os.environ.get("LAB_AWS_STATE", "disk"))
    except StateError as exc:
        log.error("%s", exc)
        return 1
    admin_token = os.environ.get("LAB_AWS_ADMIN_TOKEN", "")
    moto_app = DomainDispatcherApplication(create_backend_app)
    recorder = Recorder(
        moto_app,
        account_id=account.account_id,
        root_keys={account.root_access_key.id: account.account_id},
        interval=interval,
        store=store,
    )
    app = Durable(
        recorder if record else _HealthOnly(moto_app, recorder),
        store,
        recorder,
        admin_token=admin_token,
    )
    server = Server(
        app, port=port, fd=fd, health=lambda: _health(recorder, store), setting="LAB_PORT_AWS",
        request_handler=MotoRequestHandler, name="aws",
    )  # fmt: skip
    endpoint = server.url

    def build() -> None:
        try:
            if store is not None and store.built:
                restored = store.restore()
                store.start()
                recorder.start()
                kept = recorder.restore(restored.records, restored.seq)
                log.info("lab account %s restored: %d backends, %d records to deliver",
                         account.account_id, restored.units, kept)  # fmt: skip
            else:
                if store is not None:
                    store.clear()  # a build that never finished starts again
                    store.start()
                _seed(endpoint, os.environ.get("LAB_RANDOM_SEED", "1"), admin_token)
                Builder(endpoint, account).build()
                if store is not None:
                    store.mark_built()
                recorder.start()
            recorder.ready.set()
            log.info("lab account %s ready at %s", account.account_id, endpoint)
        except StateError as exc:
            log.error("%s", exc)
            os.kill(os.getpid(), signal.SIGTERM)
        except Exception:
            log.exception("building the lab account failed")
            os.kill(os.getpid(), signal.SIGTERM)

    def stop() -> None:
        if recorder.ready.is_set():
            recorder.stop()
            if store is not None:
                store.stop()

    threading.Thread(target=build, name="bootstrap", daemon=True).start()
    return run([server], on_stop=stop)


def _seed(endpoint: str, seed: str, admin_token: str) -> None:
    """Seed moto's id generator so a fresh world's resource ids are always the same (through
    the admin API, as moto's own clients do: the samples depend on its exact draws)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"{endpoint}/moto-api/seed?a={seed}",
        method="POST",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    opener.open(request, timeout=10).close()


def _store(mode: str) -> StateStore | None:
    if mode not in ("disk", "memory"):
        raise SystemExit(f"LAB_AWS_STATE must be disk or memory, not {mode!r}")
    if mode == "memory":
        return None
    state_dir = private_dir(Path(os.environ.get("LAB_STATE_DIR", ".lab/state/aws")))
    return StateStore(state_dir / "account.sqlite")


def _health(recorder: Recorder, store: StateStore | None) -> dict:
    """Ready once the account is; ``degraded`` while commits fail or some units cannot be
    saved (``state.broken``: each unit and why; calls that change one are refused, the others
    are answered as usual, so the service stays healthy)."""
    ready = recorder.ready.is_set()
    error = store.error if store is not None else None
    broken = {unit_name(key): why for key, why in store.broken.items()} if store else {}
    health = {
        "ready": ready,
        "status": "starting" if not ready else ("degraded" if error or broken else "ok"),
        "account": recorder.account_id,
    }
    if store is not None:
        health["state"] = {**store.stats, "error": error, "broken": broken}
    return health


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
