"""The ``lab`` command: start, inspect and stop the local world, and drive the lab's flows.

This is the one module that knows both sides: the local services (``labstack``) and the
toolkit (``helpers``) that runs against them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from labstack.world import World, WorldError


def _ports(values: list[str]) -> dict[str, int]:
    ports = {}
    for value in values or []:
        name, _, port = value.partition("=")
        if not port.isdigit():
            raise WorldError(f"--port expects SERVICE=PORT or SERVICE.ROLE=PORT, got {value!r}")
        ports[name] = int(port)
    return ports


def cmd_up(args) -> int:
    world = World(port_overrides=_ports(args.port))
    started = time.monotonic()
    running = world.up(timeout=args.timeout)
    _print_status(running)
    print(f"healthy in {time.monotonic() - started:.1f}s; settings in {world.home / 'env'}")
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
    world.reset()
    print(f"removed {world.home}")
    return 0


def cmd_simulate(args) -> int:
    from helpers import simulate

    if args.name == "list":
        for scenario in simulate.scenarios():
            print(f"{scenario.name:<32} {scenario.technique}")
        return 0
    try:
        result = simulate.run(args.name, **({"count": args.count} if args.count else {}))
    except simulate.ScenarioUnavailable as exc:
        print(f"lab: {args.name}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict(), indent=2, default=str))
    return 0


def cmd_demo(args) -> int:
    from labstack.cli import demo

    return demo.run(World())


def cmd_record_samples(args) -> int:
    from labstack.cli import samples

    written = samples.record(args.out)
    print(f"wrote {len(written)} files under {args.out}")
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
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="show each service and whether it is healthy")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    sub.add_parser("env", help="print the settings as shell exports").set_defaults(func=cmd_env)
    sub.add_parser("down", help="stop the local world").set_defaults(func=cmd_down)
    sub.add_parser("reset", help="stop and delete all local state").set_defaults(func=cmd_reset)

    simulate = sub.add_parser("simulate", help="perform an attack scenario ('list' lists them)")
    simulate.add_argument("name")
    simulate.add_argument("--count", type=int, help="events to make (baseline)")
    simulate.set_defaults(func=cmd_simulate)

    sub.add_parser("demo", help="start the world and run the end-to-end flow").set_defaults(
        func=cmd_demo
    )

    bench = sub.add_parser("bench", help="run a benchmark under bench/ ('list' lists them)")
    bench.add_argument("name", nargs="?", default="list")
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="options for the benchmark")
    bench.set_defaults(func=cmd_bench)

    detect = sub.add_parser("detect", help="run the detections over CloudTrail files or folders")
    detect.add_argument("files", nargs="+", metavar="FILE")
    detect.set_defaults(func=cmd_detect)

    record = sub.add_parser("record-samples", help="re-record data/sample_cloudtrail/")
    record.add_argument("--out", default="data/sample_cloudtrail")
    record.set_defaults(func=cmd_record_samples)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except WorldError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"lab: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
