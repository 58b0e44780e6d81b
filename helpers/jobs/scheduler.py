"""The scheduler: start each job when its cron schedule says, one run at a time per job.

Each due job runs on a thread of its own, so a slow job never delays another, and what one run
does (fail, time out, raise) never stops the others. A job still running when it is due again
skips that turn. The clock is injected, so when a job is due can be tested without waiting:

>>> clock = FakeClock(0.0)                                        # doctest: +SKIP
>>> scheduler = Scheduler(jobs, run=lambda job, trigger: None, clock=clock)  # doctest: +SKIP
>>> clock.now = 300.0; scheduler.tick()                           # doctest: +SKIP
['sg-sweep']
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from helpers.jobs.archive import JobBusy
from helpers.jobs.config import Job

__all__ = ["Scheduler"]

log = logging.getLogger("helpers.jobs.scheduler")

#: Seconds between two looks at the clock when serving.
TICK = 1.0


class Scheduler:
    """Runs ``run(job, "schedule")`` for every job that is due (see the module docstring)."""

    def __init__(
        self,
        jobs: Mapping[str, Job],
        run: Callable[[Job, str], Any],
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.jobs = dict(jobs)
        self.run = run
        self.clock = clock
        now = clock()
        self._next: dict[str, float | None] = {n: j.next_after(now) for n, j in self.jobs.items()}
        self._threads: dict[str, threading.Thread] = {}
        self._guard = threading.Lock()
        #: What happened to each job's last turn: ``started``, ``skipped: ...`` or an error.
        self.last_turn: dict[str, str] = {}

    def next_runs(self) -> dict[str, float | None]:
        """When each job is next due (epoch seconds; None: by hand only)."""
        with self._guard:
            return dict(self._next)

    def running(self) -> list[str]:
        with self._guard:
            return sorted(name for name, t in self._threads.items() if t.is_alive())

    def due(self, now: float | None = None) -> list[Job]:
        """The jobs whose next time has come."""
        now = self.clock() if now is None else now
        with self._guard:
            return [self.jobs[n] for n, at in self._next.items() if at is not None and at <= now]

    def tick(self, now: float | None = None) -> list[str]:
        """Start every due job that is not running; returns the names started."""
        now = self.clock() if now is None else now
        started = []
        for job in self.due(now):
            with self._guard:
                self._next[job.name] = job.next_after(now)
                busy = self._threads.get(job.name)
                if busy is not None and busy.is_alive():
                    self.last_turn[job.name] = "skipped: the previous run is still running"
                    log.warning("%s is due but still running: this turn is skipped", job.name)
                    continue
                thread = threading.Thread(
                    target=self._run, args=(job,), name=f"job-{job.name}", daemon=True
                )
                self._threads[job.name] = thread
                self.last_turn[job.name] = "started"
            thread.start()
            started.append(job.name)
        return started

    def _run(self, job: Job) -> None:
        try:
            self.run(job, "schedule")
        except JobBusy as err:
            self.last_turn[job.name] = f"skipped: {err}"
            log.warning("%s: %s", job.name, err)
        except Exception as err:  # one job's trouble is never the scheduler's
            self.last_turn[job.name] = f"error: {type(err).__name__}: {err}"
            log.exception("%s: the run could not be made", job.name)

    def serve(self, stop: threading.Event, interval: float = TICK) -> None:
        """Tick until ``stop`` is set."""
        log.info(
            "scheduling %s",
            ", ".join(f"{j.name} ({j.schedule})" for j in self.jobs.values() if j.schedule)
            or "nothing (no job has a schedule)",
        )
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("a scheduler tick failed")
            stop.wait(interval)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the runs in progress (tests; a clean stop)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._guard:
            threads = list(self._threads.values())
        for thread in threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
