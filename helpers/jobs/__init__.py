"""Scheduled jobs: finished notebooks run by papermill on a cron schedule, each run archived.

``jobs.yml`` names each job's notebook, parameters, schedule and timeout
(:mod:`helpers.jobs.config`); :class:`Runner` runs one job in a child process that is killed at
the timeout and archives the executed notebook, its HTML rendering and a record
(:mod:`helpers.jobs.archive`); :class:`Scheduler` starts each job when it is due, one run at a
time per job; :mod:`helpers.jobs.app` is the page that lists them. ``python -m helpers.jobs``
runs the lot next to real products; ``lab up`` runs it as the ``jobs`` service.

>>> from helpers import jobs
>>> found = jobs.load()                                             # doctest: +SKIP
>>> runner = jobs.Runner(jobs.Archive(jobs.archive_dir()))          # doctest: +SKIP
>>> runner.run(found["incident-report"]).status                     # doctest: +SKIP
'succeeded'
"""

from __future__ import annotations

from helpers.jobs.archive import FINISHED, STATUSES, Archive, JobBusy, Run, archive_dir
from helpers.jobs.config import Job, JobsError, default_path, load
from helpers.jobs.runner import Runner, render_html
from helpers.jobs.scheduler import Scheduler
from helpers.jobs.service import JobsService, build

__all__ = [
    "FINISHED",
    "STATUSES",
    "Archive",
    "Job",
    "JobBusy",
    "JobsError",
    "JobsService",
    "Run",
    "Runner",
    "Scheduler",
    "archive_dir",
    "build",
    "default_path",
    "load",
    "render_html",
]
