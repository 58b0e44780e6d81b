"""The ``lab`` command: start, inspect and stop the local world, and drive the lab's flows.

This is the one module that knows both sides: the local services (``labstack``) and the
toolkit (``helpers``) that runs against them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import time
from datetime import datetime

from labstack.world import World, WorldError


def _ports(values: list[str]) -> dict[str, int]:
    ports = {}
    for value in values or []:
        name, _, port = value.partition("=")
        if not port.isdigit():
            raise WorldError(f"--port expects SERVICE=PORT or SERVICE.ROLE=PORT, got {value!r}")
        ports[name] = int(port)
    return ports


def _settings(world: World):
    """The world's settings as helpers read them (its ``.lab/env`` over this environment)."""
    import os

    from helpers.config import get_settings

    os.environ.update(world.read_env())
    get_settings.cache_clear()
    return get_settings()


def cmd_up(args) -> int:
    world = World(port_overrides=_ports(args.port))
    started = time.monotonic()
    running = world.up(timeout=args.timeout)
    _print_status(running)
    print(f"healthy in {time.monotonic() - started:.1f}s; settings in {world.home / 'env'}")
    wired = {"automation", "splunk", "jira", "slack"}
    if args.bare:
        print("bare: nothing is wired (detections, Jira webhook and Slack app are yours to set)")
    elif not wired <= {s.name for s in world.services()}:
        print(
            "not wired: this world lacks "
            + ", ".join(sorted(wired - {s.name for s in world.services()}))
        )
    else:
        from labstack.cli.wiring import wire

        for part, text in wire(_settings(world)).items():
            print(f"wired {part:<10} {text}")
    if args.detach:
        return 0
    print("lab is up; press Ctrl-C to stop it")
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stop["now"]:
            time.sleep(0.5)
            dead = [r.service.name for r in world.statuses() if r.pid is None]
            if dead:
                for name in dead:
                    print(f"{name} stopped unexpectedly:\n{world.log_tail(name)}", file=sys.stderr)
                return 1
    finally:
        world.down()
        print("lab is down")
    return 0


def _print_status(running) -> None:
    for r in running:
        state = "healthy" if r.healthy else ("starting" if r.pid else "stopped")
        ports = " ".join(f"{role}={port}" for role, port in r.ports.items())
        print(f"{r.service.name:<10} {state:<9} {r.url:<28} {ports}")
    pages = [(r.service.name, r.url + view) for r in running for view in r.service.views]
    if pages:
        print("web views:")
        for name, url in pages:
            print(f"  {name:<10} {url}")


def cmd_status(args) -> int:
    running = World().statuses()
    if args.json:
        print(json.dumps([r.as_dict() for r in running], indent=2))
    else:
        _print_status(running)
    return 0 if all(r.healthy for r in running) else 3


def cmd_env(args) -> int:
    print(World().env_text(), end="")
    return 0


def cmd_down(args) -> int:
    stopped = World().down()
    print("stopped: " + (", ".join(stopped) or "nothing was running"))
    return 0


def cmd_reset(args) -> int:
    world = World()
    if args.to:
        from labstack.cli.checkpoints import reset_to

        for line in reset_to(world, args.to):
            print(line)
        return 0
    world.reset()
    print(f"removed {world.home}")
    return 0


def cmd_simulate(args) -> int:
    from helpers import simulate

    if args.name == "list":
        for scenario in simulate.scenarios():
            print(f"{scenario.name:<32} {scenario.technique}")
        return 0
    last = World().home / "state" / "simulate" / f"{args.name}.json"
    simulate.get(args.name)  # an unknown name fails here, listing the known ones
    if args.revert:
        if not last.exists():
            raise WorldError(f"{args.name} has not been run in this lab (nothing to revert)")
        data = json.loads(last.read_text())
        for field in ("started", "ended"):
            data[field] = datetime.fromisoformat(data[field])
        try:
            simulate.revert(simulate.ScenarioResult(**data))
        except simulate.ScenarioUnavailable as exc:
            raise WorldError(f"{args.name}: {exc}") from None
        last.unlink()
        print(f"reverted {args.name}: {json.dumps(data['resources'], default=str)}")
        return 0
    try:
        result = simulate.run(args.name, **({"count": args.count} if args.count else {}))
    except simulate.ScenarioUnavailable as exc:
        print(f"lab: {args.name}: {exc}", file=sys.stderr)
        return 2
    last.parent.mkdir(parents=True, exist_ok=True)
    last.write_text(json.dumps(result.as_dict(), default=str))
    for note in result.cleaned:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps(result.as_dict(), indent=2, default=str))
    return 0


def _automation(world: World):
    settings = _settings(world)
    base = settings.require("automation_url", "the automation server (lab up)")
    token = settings.require("automation_token")
    return base, {"Authorization": f"Bearer {token}"}


def _api(method: str, url: str, **kwargs):
    from labstack.cli.wiring import loopback_session

    with loopback_session() as session:
        resp = session.request(method, url, timeout=30, **kwargs)
    if resp.status_code >= 400:
        try:
            message = resp.json().get("error", resp.text)
        except ValueError:
            message = resp.text
        raise WorldError(f"the automation server answered HTTP {resp.status_code}: {message}")
    return resp.json()


def cmd_incidents(args) -> int:
    base, headers = _automation(World())
    if args.replay is not None:
        done = _api("POST", f"{base}/api/dead-letters/{args.replay}/replay", headers=headers)
        print(f"replayed dead letter {done['replayed']}")
        return 0
    if args.key:
        incident = _api("GET", f"{base}/api/incidents/{args.key}")
        if args.json:
            print(json.dumps(incident, indent=2))
            return 0
        print(f"{incident['dedup_key']}: {incident['state']} (ticket {incident['ticket']})")
        for step in incident["timeline"]:
            when = time.strftime("%H:%M:%S", time.localtime(step["at"]))
            first, *rest = step["text"].splitlines() or [""]
            print(f"  {when} {step['state']:<21} {first}")
            for line in rest:
                print(f"  {'':8} {'':<21} {line}")
        return 0
    params = {"state": args.state} if args.state else {}
    found = _api("GET", f"{base}/api/incidents", params=params)["incidents"]
    dead = _api("GET", f"{base}/api/dead-letters")["dead_letters"]
    if args.json:
        print(json.dumps({"incidents": found, "dead_letters": dead}, indent=2))
        return 0
    print(f"{'updated':<9} {'state':<21} {'ticket':<8} {'seen':>4}  dedup key")
    for i in found:
        when = time.strftime("%H:%M:%S", time.localtime(i["updated"]))
        print(
            f"{when:<9} {i['state']:<21} {i['ticket'] or '-':<8} {i['seen']:>4}  {i['dedup_key']}"
        )
    if not found:
        print("(no incidents yet: try `lab simulate sg-open-world`)")
    for letter in dead:
        print(
            f"dead letter {letter['id']} ({letter['body'].get('kind')}): {letter['note']}"
            f"  -> lab incidents --replay {letter['id']}"
        )
    return 0


def cmd_playbooks(args) -> int:
    from helpers import playbooks
    from helpers.playbooks.guardrails import Policy

    registry = playbooks.load()
    if args.what == "permissions":
        from helpers import enrich

        actions = sorted(set(playbooks.permissions()) | set(enrich.permissions()))
        print(json.dumps(actions, indent=2) if args.json else "\n".join(actions))
        return 0
    policy = Policy.load(_settings(World()).automation_policy if args.world else None)
    rows = [
        {
            "name": book.name,
            "local": policy.mode_for(book.name, local=True),
            "real": policy.mode_for(book.name, local=False),
            "permissions": list(book.permissions),
            "description": book.description,
        }
        for book in registry
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['name']:<32} local={row['local']:<8} real={row['real']:<8} "
            f"{', '.join(row['permissions']) or '-'}"
        )
    return 0


def cmd_rollback(args) -> int:
    import getpass

    base, headers = _automation(World())
    headers["X-Lab-User"] = f"{getpass.getuser()} (lab rollback)"
    done = _api("POST", f"{base}/api/incidents/{args.key}/rollback", headers=headers)
    print(done["result"])
    return 0


def cmd_demo(args) -> int:
    from labstack.cli import demo

    return demo.run(World())


def cmd_record_samples(args) -> int:
    from labstack.cli import samples

    written = samples.record(args.out, args.network_out)
    print(f"wrote {len(written)} files under {args.out} and {args.network_out}")
    return 0


def cmd_detect(args) -> int:
    from labstack.cli import detect

    return detect.main(args.files)


def cmd_bench(args) -> int:
    import subprocess
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "bench"
    benches = {p.stem.removesuffix("_bench"): p for p in sorted(folder.glob("*_bench.py"))}
    if args.name == "list" or args.name not in (*benches, "all"):
        print("benchmarks: " + ", ".join(benches) + " (or all)")
        return 0 if args.name == "list" else 2
    chosen = benches.values() if args.name == "all" else [benches[args.name]]
    codes = [subprocess.call([sys.executable, str(p), *args.rest]) for p in chosen]
    return max(codes)


#: Command groups with a module of their own under ``labstack/cli/``, each with ``add_parser(sub)``.
COMMAND_MODULES: tuple[str, ...] = ("export", "package", "jobs", "doctor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the local world (idempotent)")
    up.add_argument("--detach", "-d", action="store_true", help="return once healthy")
    up.add_argument(
        "--port",
        action="append",
        metavar="SERVICE[.ROLE]=PORT",
        help="use another port (also LAB_PORT_<SERVICE>[_<ROLE>])",
    )
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for health")
    up.add_argument("--bare", action="store_true", help="start the services but wire nothing")
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="show each service and whether it is healthy")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    sub.add_parser("env", help="print the settings as shell exports").set_defaults(func=cmd_env)
    sub.add_parser("down", help="stop the local world").set_defaults(func=cmd_down)
    reset = sub.add_parser("reset", help="stop and delete all local state")
    reset.add_argument("--to", metavar="NN", help="then start it as chapter NN expects (07: wired)")
    reset.set_defaults(func=cmd_reset)

    simulate = sub.add_parser("simulate", help="perform an attack scenario ('list' lists them)")
    simulate.add_argument("name")
    simulate.add_argument("--count", type=int, help="events to make (baseline)")
    simulate.add_argument("--revert", action="store_true", help="undo this scenario's last run")
    simulate.set_defaults(func=cmd_simulate)

    sub.add_parser("demo", help="start the world and run the end-to-end flow").set_defaults(
        func=cmd_demo
    )

    incidents = sub.add_parser("incidents", help="the automation server's incidents")
    incidents.add_argument("key", nargs="?", help="one incident's timeline (its dedup key)")
    incidents.add_argument("--state", help="only incidents in this state")
    incidents.add_argument("--replay", type=int, metavar="ID", help="replay a dead letter")
    incidents.add_argument("--json", action="store_true")
    incidents.set_defaults(func=cmd_incidents)

    books = sub.add_parser(
        "playbooks",
        help="the registered playbooks; 'permissions': the IAM actions the automation needs",
    )
    books.add_argument("what", choices=("list", "permissions"), nargs="?", default="list")
    books.add_argument("--json", action="store_true")
    books.add_argument("--world", action="store_true", help="modes from the world's policy")
    books.set_defaults(func=cmd_playbooks)

    rollback = sub.add_parser("rollback", help="undo an incident's remediation")
    rollback.add_argument("key", help="the incident's dedup key")
    rollback.set_defaults(func=cmd_rollback)

    bench = sub.add_parser("bench", help="run a benchmark under bench/ ('list' lists them)")
    bench.add_argument("name", nargs="?", default="list")
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="options for the benchmark")
    bench.set_defaults(func=cmd_bench)

    detect = sub.add_parser("detect", help="run the detections over CloudTrail files or folders")
    detect.add_argument("files", nargs="+", metavar="FILE")
    detect.set_defaults(func=cmd_detect)

    record = sub.add_parser(
        "record-samples", help="re-record data/sample_cloudtrail/ and data/sample_network/"
    )
    record.add_argument("--out", default="data/sample_cloudtrail")
    record.add_argument("--network-out", default="data/sample_network")
    record.set_defaults(func=cmd_record_samples)

    for name in COMMAND_MODULES:
        importlib.import_module(f"labstack.cli.{name}").add_parser(sub)
    return parser


def _expected() -> tuple[type[Exception], ...]:
    """The failures a command reports in one line: a service's or a setting's, not a bug."""
    from botocore.exceptions import BotoCoreError, ClientError
    from requests import RequestException

    from helpers.config import MissingSetting, SettingsSecretError
    from helpers.hec import HecError
    from helpers.jira import JiraHelperError
    from helpers.slack import SlackError
    from helpers.splunk import SearchError
    from helpers.splunk_app import ConfError

    return (BotoCoreError, ClientError, RequestException, MissingSetting, SettingsSecretError,
            HecError, JiraHelperError, SlackError, SearchError, ConfError)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `lab incidents | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more is written
        return 0
    except WorldError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"lab: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an expected failure of a service or a setting: no traceback
        if not isinstance(exc, _expected()):
            raise
        print(f"lab: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
