"""``lab jobs``: the scheduled notebooks of ``jobs.yml`` (:mod:`helpers.jobs`).

::

    lab jobs list                        each job: its schedule, next run and last status
    lab jobs run NAME [-p KEY=VALUE]...  run one now, in this terminal, and archive the run
    lab jobs serve [--port N]            run each job when it is due, until Ctrl-C
    lab jobs runs [NAME] [--json]        the archived runs, newest first

Runs reach the local world through its settings (``.lab/env``), or the products the environment
names when no world is up. The world's ``jobs`` service schedules the same jobs and serves the
page that lists every run; one job never runs twice at once, whoever starts it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from labstack.world import World, WorldError

#: How a run's status reads in a terminal.
MARK = {"succeeded": "ok", "failed": "FAILED", "timed_out": "TIMED OUT", "running": "running",
        "queued": "queued"}  # fmt: skip


def _prepare(args) -> World:
    """The world's settings in this process (its kernels inherit them), when a world is up."""
    from helpers.config import get_settings

    world = World()
    with contextlib.suppress(WorldError):  # no world: the environment names real products
        os.environ.update(world.read_env())
    os.environ["LAB_HOME"] = str(world.home)
    if getattr(args, "jobs", None):
        os.environ["JOBS_FILE"] = str(Path(args.jobs).resolve())
    get_settings.cache_clear()
    return world


def _load(args):
    from helpers import jobs

    try:
        return jobs.load()
    except jobs.JobsError as err:
        raise WorldError(str(err)) from None


def _archive():
    from helpers import jobs

    return jobs.Archive(jobs.archive_dir())


def _service_url(world: World) -> tuple[str | None, str | None]:
    """The world's jobs page and whether its scheduler is on (``"on"``/``"off"``), if it runs."""
    from labstack import services
    from labstack.cli.wiring import loopback_session

    try:
        status = world.status(services.get("jobs"))
    except KeyError:
        return None, None
    if not status.healthy:
        return None, None
    try:
        with loopback_session() as session:
            health = session.get(status.url + status.service.health, timeout=5).json()
    except (OSError, ValueError):
        return status.url, None
    return status.url, health.get("scheduler")


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def _line(run) -> str:
    took = f"{run.duration:.1f}s" if run.duration is not None else "-"
    first = (run.error or "").strip().splitlines()
    error = f"  {first[0][:120]}" if first else ""
    status = MARK.get(run.status, run.status)
    when = _when(run.started or run.created)
    return f"{when:<20} {run.job:<18} {status:<9} {took:>8}  {run.trigger:<8} {run.id}{error}"


def cmd_list(args) -> int:
    world = _prepare(args)
    found = _load(args)
    archive = _archive()
    archive.recover()
    url, scheduler = _service_url(world)
    now = time.time()
    rows = []
    for job in found.values():
        last = archive.last(job.name)
        rows.append({
            "name": job.name, "schedule": job.schedule, "next": job.next_after(now),
            "timeout": job.timeout, "parameters": dict(job.parameters),
            "notebook": str(job.notebook), "description": job.description,
            "last": last.as_dict() if last else None,
        })  # fmt: skip
    if args.json:
        print(json.dumps({"jobs": rows, "page": url, "scheduler": scheduler}, indent=2))
        return 0
    print(f"{'job':<18} {'schedule (UTC)':<16} {'next run':<20} {'last run':<30} description")
    for row in rows:
        last = row["last"]
        seen = last and f"{MARK[last['status']]} {_when(last['started'] or last['created'])}"
        print(
            f"{row['name']:<18} {row['schedule'] or 'by hand':<16} {_when(row['next']):<20} "
            f"{seen if last else 'never':<30} {row['description']}"
        )
    if url and scheduler == "on":
        print(f"the world's jobs service runs them when due; every run: {url}/")
    elif url:
        print(f"the world's jobs service schedules nothing (JOBS_SCHEDULER=off); runs: {url}/")
    else:
        print("nothing runs them when due here: `lab up` starts the jobs service; `lab jobs serve`")
    return 0


def _parameters(values: list[str] | None) -> dict:
    """``KEY=VALUE`` pairs; a value reads as YAML (``30`` a number, ``true``, ``[a, b]``)."""
    found = {}
    for value in values or []:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise WorldError(f"-p expects KEY=VALUE, got {value!r}")
        try:
            found[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            found[key.strip()] = raw
    return found


def cmd_run(args) -> int:
    from helpers import jobs

    world = _prepare(args)
    found = _load(args)
    if args.name not in found:
        raise WorldError(f"no job {args.name!r}; jobs: {', '.join(found)} (see jobs.yml)")
    archive = _archive()
    archive.recover()
    runner = jobs.Runner(archive)
    job = found[args.name]
    print(f"running {job.name} ({job.notebook.name}, timeout {job.timeout:g}s)...", flush=True)
    try:
        run = runner.run(job, _parameters(args.parameter), trigger="manual")
    except (jobs.JobsError, jobs.JobBusy) as err:
        raise WorldError(str(err)) from None
    folder = archive.run_dir(run.job, run.id)
    print(_line(run))
    for name in run.files:
        print(f"  {name:<15} {folder / name}")
    url, _ = _service_url(world)
    if url and "notebook.html" in run.files:
        print(f"  {'page':<15} {url}/runs/{run.job}/{run.id}/notebook.html")
    if run.failed:
        print(f"lab: {run.job} {run.status}: {run.error}", file=sys.stderr)
        return 1
    return 0


def cmd_serve(args) -> int:
    from helpers import jobs
    from helpers.runtime.serve import Server

    world = _prepare(args)
    _load(args)  # a bad jobs.yml fails here, with its field named
    service = jobs.build(scheduling=True, on_done=lambda run: print(_line(run), flush=True))
    for run in service.recovered:
        print(f"note: {run.job} run {run.id} was left unfinished; marked failed", file=sys.stderr)
    server = Server(service.app, port=args.port, name="lab-jobs").start()
    scheduled = [f"{j.name} ({j.schedule})" for j in service.jobs.values() if j.schedule]
    print(f"scheduling {', '.join(scheduled) or 'nothing (no job has a schedule)'} (UTC)")
    print(f"runs are listed on {server.url}/ and by `lab jobs runs`; Ctrl-C stops")
    url, scheduler = _service_url(world)
    if url and scheduler == "on":
        print(f"note: the world's jobs service ({url}) schedules them too; a job never runs twice "
              "at once, so a turn one of them finds busy is skipped")  # fmt: skip
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    service.start()
    try:
        while not stop.wait(0.5):  # a short wait, so the signal handler runs promptly
            pass
    finally:
        service.close()  # runs in progress are killed and marked failed, with the reason
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped")
    return 0


def cmd_runs(args) -> int:
    _prepare(args)
    found = _load(args)
    if args.name and args.name not in found:
        raise WorldError(f"no job {args.name!r}; jobs: {', '.join(found)} (see jobs.yml)")
    archive = _archive()
    archive.recover()
    runs = archive.runs(args.name, limit=args.limit)
    if args.json:
        print(json.dumps({"runs": [r.as_dict() for r in runs]}, indent=2))
        return 0
    print(f"{'started (UTC)':<20} {'job':<18} {'status':<9} {'took':>8}  {'trigger':<8} run")
    for run in runs:
        print(_line(run))
    if not runs:
        print(f"(no runs yet: try `lab jobs run {args.name or next(iter(found))}`)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("jobs", help="scheduled notebooks (jobs.yml): list, run, serve, runs")
    group.add_argument(
        "--jobs", metavar="FILE", help="the jobs file (default: $JOBS_FILE, ./jobs.yml)"
    )
    what = group.add_subparsers(dest="jobs_command", required=True)

    listing = what.add_parser("list", help="each job, its schedule, next run and last status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    run = what.add_parser("run", help="run a job now and archive the run")
    run.add_argument("name")
    run.add_argument("-p", "--parameter", action="append", metavar="KEY=VALUE",
                     help="set a notebook parameter for this run (repeatable)")  # fmt: skip
    run.set_defaults(func=cmd_run)

    serve = what.add_parser("serve", help="run each job when it is due, until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="the runs page's port (default: any)")
    serve.set_defaults(func=cmd_serve)

    runs = what.add_parser("runs", help="archived runs, newest first")
    runs.add_argument("name", nargs="?", help="only this job's runs")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs)
