"""Build the jobs service from settings: the jobs, their archive, the runner, the scheduler, the
page (``python -m helpers.jobs`` and ``lab jobs serve`` both start one)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.config import Settings, get_settings
from helpers.jobs.app import JobsApp
from helpers.jobs.archive import Archive, archive_dir
from helpers.jobs.config import Job, load
from helpers.jobs.runner import Runner
from helpers.jobs.scheduler import Scheduler

__all__ = ["JobsService", "build"]

#: What a run cut short by a stopping service says.
STOPPED = "stopped: the jobs service was stopped during the run"


@dataclass
class JobsService:
    """The built parts; ``scheduler`` is None when nothing is scheduled here."""

    jobs: dict[str, Job]
    archive: Archive
    runner: Runner
    app: JobsApp
    scheduler: Scheduler | None
    #: Runs found unfinished at start, their process gone (now marked failed).
    recovered: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread | None:
        """Schedule on a thread of its own until :meth:`close`."""
        if self.scheduler is None:
            return None
        thread = threading.Thread(
            target=self.scheduler.serve, args=(self._stop,), name="scheduler", daemon=True
        )
        thread.start()
        return thread

    def health(self) -> dict:
        return {
            "ready": True,
            "jobs": len(self.jobs),
            "scheduler": "on" if self.scheduler is not None else "off",
            "running": self.runner.running(),
        }

    def close(self, reason: str = STOPPED, timeout: float = 10.0) -> None:
        """Stop scheduling and kill the runs in progress (each is marked failed, ``reason``)."""
        self._stop.set()
        self.runner.stop(reason)
        if self.scheduler is not None:
            self.scheduler.join(timeout)


def build(
    settings: Settings | None = None,
    *,
    path: Path | None = None,
    scheduling: bool | None = None,
    on_done=None,
    clock=time.time,
) -> JobsService:
    """The service for ``path`` (default: ``JOBS_FILE``...); ``scheduling`` defaults to
    ``JOBS_SCHEDULER``; ``on_done`` is told each finished run. Unfinished runs of a process that
    died are marked failed first."""
    settings = settings or get_settings()
    jobs = load(path, settings)
    archive = Archive(archive_dir(settings), clock=clock)
    recovered = archive.recover()
    runner = Runner(archive, on_done=on_done, clock=clock)
    scheduling = settings.jobs_scheduler if scheduling is None else scheduling
    scheduler = (
        Scheduler(jobs, lambda job, trigger: runner.run(job, trigger=trigger), clock=clock)
        if scheduling
        else None
    )
    app = JobsApp(
        jobs,
        archive,
        next_runs=scheduler.next_runs if scheduler else None,
        running=runner.running,
        last_turn=scheduler.last_turn if scheduler else None,
    )
    return JobsService(jobs, archive, runner, app, scheduler, recovered)
