"""``jobs.yml``: the scheduled notebooks, read and checked before anything runs.

Each job is a notebook with a papermill ``parameters`` cell, the parameters to run it with, a
cron schedule (UTC; five fields, or six with seconds last) and a timeout::

    jobs:
      sg-sweep:
        description: world-open security groups, handed to the automation server
        notebook: notebooks/jobs/sg_sweep.ipynb     # relative to jobs.yml's folder
        schedule: "*/5 * * * *"                     # omit it: the job runs only by hand
        timeout: 120                                # seconds; the run is killed after it
        parameters: {HAND_OVER: true}               # names from the notebook's parameters cell
        keep: 50                                    # runs kept in the archive
        hide_code: false                            # the HTML rendering without code cells

A mistake is a :class:`JobsError` naming the file and the field (``jobs.sg-sweep.schedule``).

>>> jobs = load("jobs.yml")                                     # doctest: +SKIP
>>> jobs["sg-sweep"].schedule, jobs["sg-sweep"].timeout         # doctest: +SKIP
('*/5 * * * *', 120.0)
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from helpers.config import Settings, get_settings

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_TIMEOUT",
    "FIELDS",
    "Job",
    "JobsError",
    "default_path",
    "load",
    "notebook_parameters",
    "parse",
]

#: Seconds a run may take when the job does not say.
DEFAULT_TIMEOUT = 600.0
#: Runs of one job kept in the archive when the job does not say (older ones are removed).
DEFAULT_KEEP = 50
#: The fields a job may have.
FIELDS = ("description", "notebook", "schedule", "timeout", "parameters", "keep", "hide_code")
#: Job names: lower-case words joined by '-' (they are folder names and URL parts).
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
#: The lab's own jobs file, beside the helpers package in a source checkout.
LAB_JOBS_FILE = Path(__file__).resolve().parents[2] / "jobs.yml"


class JobsError(ValueError):
    """jobs.yml (or a run request) is wrong; the message names the file and the field."""


@dataclass(frozen=True)
class Job:
    """One scheduled notebook (see the module docstring for the fields)."""

    name: str
    notebook: Path
    schedule: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    description: str = ""
    keep: int = DEFAULT_KEEP
    hide_code: bool = False
    #: The names the notebook's parameters cell assigns (what ``-p`` may set).
    known: tuple[str, ...] = ()

    def next_after(self, when: float) -> float | None:
        """The first time after ``when`` (epoch seconds) the schedule fires; None by hand only.

        >>> Job("x", Path("x.ipynb"), "*/5 * * * *").next_after(0.0)
        300.0
        """
        if self.schedule is None:
            return None
        from croniter import croniter

        start = datetime.fromtimestamp(when, UTC)
        return float(croniter(self.schedule, start).get_next(float))

    def run_parameters(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The job's parameters with ``overrides`` on top; an unknown name is a JobsError.

        >>> job = Job("x", Path("x.ipynb"), parameters={"DAYS": 90}, known=("DAYS", "TEAM"))
        >>> job.run_parameters({"TEAM": "payments"})
        {'DAYS': 90, 'TEAM': 'payments'}
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.known))
        if unknown:
            raise JobsError(
                f"job {self.name}: the notebook has no parameter {', '.join(unknown)} "
                f"(its parameters: {', '.join(self.known) or 'none'})"
            )
        return {**self.parameters, **overrides}


def default_path(settings: Settings | None = None) -> Path:
    """``JOBS_FILE``, else ``./jobs.yml``, else the lab's own ``jobs.yml``."""
    settings = settings or get_settings()
    if settings.jobs_file:
        return Path(settings.jobs_file).expanduser()
    here = Path("jobs.yml")
    return here if here.exists() else LAB_JOBS_FILE


def load(path: str | Path | None = None, settings: Settings | None = None) -> dict[str, Job]:
    """Every job in ``path`` (default: :func:`default_path`), in file order, checked."""
    path = Path(path) if path is not None else default_path(settings)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise JobsError(f"{path}: no such jobs file (set JOBS_FILE)") from None
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader that refuses repeats
    except yaml.YAMLError as err:
        raise JobsError(f"{path}: not valid YAML: {err}") from None
    return parse(doc, base=path.resolve().parent, source=str(path))


def parse(doc: Any, *, base: Path, source: str = "jobs.yml") -> dict[str, Job]:
    """The jobs of a parsed jobs document; notebook paths are relative to ``base``."""
    if not isinstance(doc, dict) or set(doc) != {"jobs"}:
        raise JobsError(f"{source}: the file must have one top-level key, jobs")
    jobs = doc["jobs"]
    if not isinstance(jobs, dict) or not jobs:
        raise JobsError(f"{source}: jobs must map each job's name to its fields")
    return {str(name): _job(str(name), spec, base, source) for name, spec in jobs.items()}


def _job(name: str, spec: Any, base: Path, source: str) -> Job:
    def fail(key: str, problem: str) -> JobsError:
        where = f"jobs.{name}.{key}" if key else f"jobs.{name}"
        return JobsError(f"{source}: {where}: {problem}")

    if not _NAME.match(name):
        raise fail("", "a job's name is lower-case letters, digits and '-' (at most 64)")
    if not isinstance(spec, dict):
        raise fail("", "must be a mapping of fields (notebook, schedule, parameters...)")
    if unknown := sorted(set(spec) - set(FIELDS)):
        raise fail(unknown[0], f"unknown field (known: {', '.join(FIELDS)})")
    if not isinstance(spec.get("notebook"), str) or not spec["notebook"].strip():
        raise fail("notebook", "required: the notebook's path, relative to the jobs file")
    notebook = (base / spec["notebook"]).resolve()
    if notebook.suffix != ".ipynb":
        raise fail("notebook", f"{spec['notebook']} is not a notebook (.ipynb)")
    if not notebook.is_file():
        raise fail("notebook", f"{spec['notebook']} does not exist (looked in {base})")
    try:
        known = notebook_parameters(notebook)
    except ValueError as err:
        raise fail("notebook", str(err)) from None
    schedule = spec.get("schedule")
    if schedule is not None:
        from croniter import croniter

        if not isinstance(schedule, str) or not croniter.is_valid(schedule):
            raise fail(
                "schedule",
                f"{schedule!r} is not a cron expression (e.g. '*/5 * * * *'; omit it to run "
                "the job only by hand)",
            )
    parameters = spec.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise fail("parameters", "must map parameter names to values")
    for key, value in parameters.items():
        if key not in known:
            raise fail(
                f"parameters.{key}",
                f"the notebook has no such parameter (its parameters: {', '.join(known)})",
            )
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            problem = "must be text, a number, true/false, or a list or mapping of them"
            raise fail(f"parameters.{key}", problem) from None
    timeout = spec.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise fail("timeout", f"{timeout!r} must be a positive number of seconds")
    keep = spec.get("keep", DEFAULT_KEEP)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise fail("keep", f"{keep!r} must be a whole number of runs, at least 1")
    hide_code = spec.get("hide_code", False)
    if not isinstance(hide_code, bool):
        raise fail("hide_code", "must be true or false")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be text")
    return Job(
        name=name,
        notebook=notebook,
        schedule=schedule,
        parameters=dict(parameters),
        timeout=float(timeout),
        description=description.strip(),
        keep=keep,
        hide_code=hide_code,
        known=known,
    )


def notebook_parameters(path: Path) -> tuple[str, ...]:
    """The names the notebook's ``parameters``-tagged cell assigns (papermill's convention)."""
    try:
        notebook = json.loads(path.read_text())
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path.name} is not a Jupyter notebook") from None
    tagged = [c for c in cells if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if not tagged:
        raise ValueError(f"{path.name} has no cell tagged 'parameters' (papermill needs one)")
    source = "".join(tagged[0].get("source") or [])
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"{path.name}: its parameters cell is not Python: {err}") from None
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return tuple(dict.fromkeys(names))


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice (the second would silently win)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
