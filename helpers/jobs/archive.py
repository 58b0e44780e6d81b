"""The run archive: one folder per run, kept on disk across restarts.

::

    <archive>/<job>/.lock                 held (flock) by whoever is running the job right now
    <archive>/<job>/<run id>/run.json     the run record: status, times, parameters, error
    <archive>/<job>/<run id>/notebook.ipynb   the executed notebook (papermill's output)
    <archive>/<job>/<run id>/notebook.html    its HTML rendering (nbconvert)
    <archive>/<job>/<run id>/log.txt      papermill's own output

A run id sorts by time (``20260102T030405Z-1a2b``). A record is replaced atomically, so a crash
never leaves half a record; a run left ``queued`` or ``running`` by a process that died (its job's
lock is free) is marked failed by :meth:`Archive.recover`.

>>> archive = Archive(lab_home() / "jobs")                  # doctest: +SKIP
>>> [(r.job, r.status) for r in archive.runs(limit=2)]      # doctest: +SKIP
[('sg-sweep', 'succeeded'), ('access-keys', 'failed')]
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from helpers.config import Settings, get_settings
from helpers.runtime.home import lab_home, private_dir, write_private

__all__ = [
    "FINISHED",
    "STATUSES",
    "Archive",
    "JobBusy",
    "Run",
    "archive_dir",
]

STATUSES = ("queued", "running", "succeeded", "failed", "timed_out")
FINISHED = frozenset({"succeeded", "failed", "timed_out"})
#: The files a run folder may hold and their content types (nothing else is ever served).
FILES = {
    "notebook.html": "text/html; charset=utf-8",
    "notebook.ipynb": "application/x-ipynb+json",
    "log.txt": "text/plain; charset=utf-8",
}
RECORD = "run.json"
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")
_JOB = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class JobBusy(RuntimeError):
    """The job is running already (here or in another process); one run at a time per job."""


def archive_dir(settings: Settings | None = None) -> Path:
    """``JOBS_ARCHIVE``, else ``<lab home>/jobs``."""
    settings = settings or get_settings()
    if settings.jobs_archive:
        return Path(settings.jobs_archive).expanduser()
    return lab_home() / "jobs"


@dataclass
class Run:
    """One run's record (``run.json``)."""

    job: str
    id: str
    status: str = "queued"
    trigger: str = "manual"
    parameters: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    duration: float | None = None
    error: str | None = None
    #: The process running it (the scheduler, or ``lab jobs run``).
    pid: int | None = None
    #: Files of the run folder that exist (``notebook.html``, ``notebook.ipynb``, ``log.txt``).
    files: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "timed_out")

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


class Archive:
    """The runs of every job under ``root`` (see the module docstring for the layout)."""

    def __init__(self, root: Path, clock=time.time):
        self.root = Path(root)
        self.clock = clock

    # -- paths -----------------------------------------------------------------------------------
    def job_dir(self, job: str) -> Path:
        if not _JOB.match(job):
            raise ValueError(f"not a job name: {job!r}")
        return self.root / job

    def run_dir(self, job: str, run_id: str) -> Path:
        if not _RUN_ID.match(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.job_dir(job) / run_id

    def file(self, job: str, run_id: str, name: str) -> Path | None:
        """One of a run's :data:`FILES`, if it exists (any other name is None)."""
        if name not in FILES:
            return None
        try:
            path = self.run_dir(job, run_id) / name
        except ValueError:
            return None
        return path if path.is_file() else None

    # -- records ---------------------------------------------------------------------------------
    def new_run(self, job: str, parameters: dict[str, Any], trigger: str) -> Run:
        """A fresh run folder and its ``queued`` record."""
        now = self.clock()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        while True:
            run_id = f"{stamp}-{secrets.token_hex(2)}"
            folder = self.run_dir(job, run_id)
            try:
                private_dir(folder.parent)
                folder.mkdir(mode=0o700)
                folder.chmod(0o700)  # mkdir's mode is cut by the umask
                break
            except FileExistsError:
                continue
        run = Run(job, run_id, "queued", trigger, dict(parameters), created=now, pid=os.getpid())
        self.save(run)
        return run

    def save(self, run: Run) -> None:
        """Write the record atomically (a reader sees the old one or the new one)."""
        folder = self.run_dir(run.job, run.id)
        run.files = sorted(name for name in FILES if (folder / name).is_file())
        write_private(folder / RECORD, json.dumps(run.as_dict(), indent=2, default=str))

    def get(self, job: str, run_id: str) -> Run | None:
        try:
            path = self.run_dir(job, run_id) / RECORD
        except ValueError:
            return None
        return _read(path)

    def runs(self, job: str | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first (of one job, or of all)."""
        if job is not None:
            folders = [self.job_dir(job)]
        elif self.root.is_dir():
            folders = [p for p in self.root.iterdir() if p.is_dir() and _JOB.match(p.name)]
        else:
            folders = []
        paths = [
            (run.name, run / RECORD)
            for folder in folders
            if folder.is_dir()
            for run in folder.iterdir()
            if _RUN_ID.match(run.name)
        ]
        paths.sort(reverse=True)
        found = []
        for _, path in paths:
            run = _read(path)
            if run is not None:
                found.append(run)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def last(self, job: str) -> Run | None:
        runs = self.runs(job, limit=1)
        return runs[0] if runs else None

    # -- one run at a time -----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, job: str) -> Iterator[None]:
        """Hold the job's lock for the block; :class:`JobBusy` when someone else holds it.

        It is an ``flock`` on ``<job>/.lock``: other processes (``lab jobs run`` next to the
        scheduler) see it too, and it is let go when its holder dies, however it dies.
        """
        folder = private_dir(self.job_dir(job))
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JobBusy(f"job {job} is running already (one run at a time)") from None
            yield
        finally:
            os.close(fd)

    def recover(self) -> list[Run]:
        """Mark failed every unfinished run whose job nobody is running (its process died)."""
        recovered = []
        for run in self.runs():
            if run.done:
                continue
            try:
                with self.lock(run.job):
                    current = self.get(run.job, run.id)
                    if current is None or current.done:
                        continue
                    was = current.status
                    current.status = "failed"
                    current.finished = current.finished or self.clock()
                    if current.started is not None:
                        current.duration = current.finished - current.started
                    current.error = (
                        f"interrupted: the process that ran it (pid {current.pid}) stopped "
                        f"before the run finished (it was {was})"
                    )
                    self.save(current)
                    recovered.append(current)
            except JobBusy:
                continue
        return recovered

    def prune(self, job: str, keep: int) -> list[str]:
        """Remove the oldest finished runs of ``job`` beyond the newest ``keep``."""
        removed = []
        for run in self.runs(job)[keep:]:
            if run.done:
                shutil.rmtree(self.run_dir(run.job, run.id), ignore_errors=True)
                removed.append(run.id)
        return removed


def _read(path: Path) -> Run | None:
    try:
        return Run.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
