"""Run splunk-sdk-python's own integration tests against a private local Splunk.

The official client's tests are the stand-in's sternest reader: they were written against a
real splunkd. This starts a Splunk stand-in on free ports (its state in a temporary folder),
writes the ``.env`` the suite reads, runs the chosen test files with *our* installed splunklib
(imported before the checkout joins ``sys.path``, so the checkout's own copy is not used), and
prints how many passed and which failed::

    python tools/sdk_suite.py /path/to/splunk-sdk-python            # the seven files below
    python tools/sdk_suite.py /path/to/splunk-sdk-python --tls off  # over plain HTTP
    python tools/sdk_suite.py CHECKOUT -- -k test_oneshot           # extra pytest arguments

Some of the suite's tests ignore the ``.env`` and reach ``localhost:8089`` (splunkd's default
port) directly, so the stand-in takes splunkd's ports 8089 and 8088 when both are free
(``--ports auto``, the default); ``--ports free`` always picks free ones (those tests then
fail with "connection refused").

The checkout is any splunk-sdk-python tree with ``tests/integration`` and ``utils/`` (a git
clone at the tag matching the installed splunklib, or the PyPI sdist). Its ``.env`` is
replaced for the run and restored afterwards. Exit status: 0 when every test passed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
#: The suite's files that exercise what the lab's Splunk implements (searches, saved searches,
#: indexes, results, fired alerts, macros, the service itself).
FILES = ("test_job", "test_saved_search", "test_index", "test_results", "test_fired_alert",
         "test_macro", "test_service")  # fmt: skip
PASSWORD = "sdk-suite-password"
#: The HEC token of the suite's own test Splunk (its docker-compose), which test_hec_event uses.
HEC_TOKEN = "11111111-1111-1111-1111-1111111111113"
#: splunkd's default ports, which some of the suite's tests assume.
SPLUNKD_PORTS = {"api": 8089, "hec": 8088}

# Runs in the child: our splunklib is imported first, then the checkout joins sys.path (its
# tests import ``utils`` and ``tests.testlib`` from there), then pytest runs.
_CHILD = """
import os, sys
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd(), sys.argv[1])]
import splunklib, splunklib.client, splunklib.results, splunklib.binding
print("splunklib", splunklib.__version__, "from", os.path.dirname(splunklib.__file__))
sys.path.insert(0, sys.argv[1])
import pytest
sys.exit(pytest.main(sys.argv[2:]))
"""


def env_file(url: str, password: str) -> str:
    """The ``.env`` the suite's ``testlib`` reads (its option names, one per line)."""
    parts = urlsplit(url)
    return (
        f"host={parts.hostname}\nport={parts.port}\nscheme={parts.scheme}\n"
        f"username=admin\npassword={password}\n"
    )


def summarize(junit: Path) -> tuple[int, list[str]]:
    """(passed, failed ids) from a JUnit XML report: a test fails when its call or its setup or
    teardown failed (pytest reports a teardown error as a second entry for the same test)."""
    outcomes: dict[str, set[str]] = {}
    for case in ET.parse(junit).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcomes.setdefault(test_id, set()).update(child.tag for child in case)
    failed = [t for t, tags in outcomes.items() if tags & {"failure", "error"}]
    passed = sum(1 for tags in outcomes.values() if not tags & {"failure", "error", "skipped"})
    return passed, failed


def _free(ports: dict[str, int]) -> bool:
    from helpers.runtime.serve import BIND_HOST, PortInUse, bind

    for port in ports.values():
        try:
            bind(BIND_HOST, port).close()
        except PortInUse:
            return False
    return True


def run(checkout: Path, tls: str, files: tuple[str, ...], extra: list[str], ports: str) -> int:
    sys.path.insert(0, str(ROOT))
    from labstack.process import spawn

    wanted = None
    if ports == "auto":
        if _free(SPLUNKD_PORTS):
            wanted = dict(SPLUNKD_PORTS)
        else:
            print("ports 8089/8088 are taken: free ports instead (tests that assume "
                  "localhost:8089 will fail)")  # fmt: skip

    dotenv = checkout / ".env"
    saved = dotenv.read_bytes() if dotenv.exists() else None
    with tempfile.TemporaryDirectory(prefix="sdk-suite-") as tmp:
        env = {"SPLUNK_PASSWORD": PASSWORD, "SPLUNK_HEC_TOKEN": HEC_TOKEN, "LAB_SPLUNK_TLS": tls}
        with spawn("splunk", Path(tmp) / "splunk", env, ports=wanted, timeout=90) as proc:
            print(f"splunk stand-in at {proc.url} (pid {proc.pid}), state in {tmp}")
            dotenv.write_text(env_file(proc.url, PASSWORD))
            junit = Path(tmp) / "junit.xml"
            tests = [f"tests/integration/{name}.py" for name in files]
            args = ["-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *tests, *extra]
            try:
                subprocess.run(
                    [sys.executable, "-c", _CHILD, str(checkout), *args],
                    cwd=checkout, env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
                    check=False,
                )  # fmt: skip
            finally:
                if saved is None:
                    dotenv.unlink(missing_ok=True)
                else:
                    dotenv.write_bytes(saved)
            if not junit.exists():
                print("pytest wrote no report", file=sys.stderr)
                return 2
            passed, failed = summarize(junit)
    print(f"\npassed {passed} of {passed + len(failed)}; failed {len(failed)}")
    for test_id in failed:
        print(f"  FAILED {test_id}")
    return 0 if not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a splunk-sdk-python tree (git or sdist)")
    parser.add_argument("--tls", choices=("on", "off"), default="on",
                        help="serve the management API over HTTPS (default) or HTTP")  # fmt: skip
    parser.add_argument("--files", default=",".join(FILES), help="test files, comma-separated")
    parser.add_argument("--ports", choices=("auto", "free"), default="auto",
                        help="auto: splunkd's 8089/8088 if free (default); free: any")  # fmt: skip
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    checkout = args.checkout.resolve()
    if not (checkout / "tests" / "integration").is_dir():
        parser.error(f"{checkout} has no tests/integration (is it splunk-sdk-python?)")
    files = tuple(f.strip().removesuffix(".py") for f in args.files.split(",") if f.strip())
    return run(checkout, args.tls, files, extra, args.ports)


if __name__ == "__main__":
    sys.exit(main())
