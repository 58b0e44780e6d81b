"""Run one job: papermill in a child process, killed at the job's timeout, then archived.

The notebook runs under papermill in a child process and a session of its own, so a hung kernel
is killed with everything it started (the kernel runs in a session of its own too: the whole
process tree is collected before anything is killed), and the child dies with the process that
started it (:mod:`helpers.jobs.child`), so a scheduler killed outright leaves nothing running.

What a run leaves in its folder: the executed notebook (papermill saves it after every cell, so a
failed or killed run keeps what it did), its HTML rendering, papermill's log and the record
(:class:`~helpers.jobs.archive.Run`).

>>> runner = Runner(Archive(archive_dir()))                         # doctest: +SKIP
>>> run = runner.run(jobs["access-keys"], {"MAX_AGE_DAYS": 30})     # doctest: +SKIP
>>> run.status, run.files                                           # doctest: +SKIP
('succeeded', ['log.txt', 'notebook.html', 'notebook.ipynb'])
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from helpers.jobs.archive import Archive, Run
from helpers.jobs.config import Job
from helpers.runtime.home import write_private

__all__ = ["Runner", "notebook_error", "render_html"]

log = logging.getLogger("helpers.jobs")

#: Seconds papermill waits for the kernel to start.
START_TIMEOUT = 60
#: Longest error text kept in a record (a traceback's last line is what matters).
MAX_ERROR = 2000
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Runner:
    """Runs jobs into an :class:`~helpers.jobs.archive.Archive`; safe to share between threads.

    ``env`` is the notebook's environment (default: this process's), ``python`` the interpreter
    that runs papermill, ``on_done`` is told each finished run (``lab jobs serve`` prints it).
    """

    def __init__(
        self,
        archive: Archive,
        *,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        start_timeout: int = START_TIMEOUT,
        on_done: Callable[[Run], Any] | None = None,
        clock=time.time,
    ):
        self.archive = archive
        self.on_done = on_done
        self.env = dict(env) if env is not None else None
        self.python = python
        self.start_timeout = start_timeout
        self.clock = clock
        self._active: dict[str, subprocess.Popen] = {}
        self._guard = threading.Lock()
        self._stopping: str | None = None

    def run(self, job: Job, parameters: Mapping[str, Any] | None = None,
            trigger: str = "manual") -> Run:  # fmt: skip
        """Run ``job`` now and return its finished record.

        Raises :class:`~helpers.jobs.config.JobsError` for an unknown parameter (nothing is
        archived) and :class:`~helpers.jobs.archive.JobBusy` when the job is running already.
        A notebook that fails, or runs past the timeout, is a finished record, not an exception.
        """
        values = job.run_parameters(parameters)
        with self.archive.lock(job.name):
            run = self.archive.new_run(job.name, values, trigger)
            try:
                self._execute(job, run)
            except BaseException as err:  # Ctrl-C in `lab jobs run`, or a bug here
                if not run.done:
                    self._finish(run, "failed", f"interrupted: {type(err).__name__} {err}".strip())
                raise
            finally:
                self.archive.prune(job.name, job.keep)
        if self.on_done is not None:
            self.on_done(run)
        return run

    def stop(self, reason: str) -> None:
        """Kill every run in progress; each is marked failed with ``reason`` (service stop)."""
        with self._guard:
            self._stopping = reason
            active = list(self._active.values())
        for proc in active:
            _kill_tree(proc)

    def running(self) -> list[str]:
        with self._guard:
            return sorted(self._active)

    # -- one run ---------------------------------------------------------------------------------
    def _execute(self, job: Job, run: Run) -> None:
        folder = self.archive.run_dir(run.job, run.id)
        params = folder / "parameters.yml"
        write_private(params, yaml.safe_dump(run.parameters, allow_unicode=True))
        output = folder / "notebook.ipynb"
        command = [
            self.python, "-m", "helpers.jobs.child", str(os.getpid()),
            str(job.notebook), str(output), "--parameters_file", str(params),
            "--cwd", str(job.notebook.parent), "--no-progress-bar",
            "--start-timeout", str(self.start_timeout),
        ]  # fmt: skip
        run.status, run.started = "running", self.clock()
        self.archive.save(run)
        log.info("%s: run %s started (%s)", job.name, run.id, run.trigger)
        log_fd = os.open(folder / "log.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(log_fd, "wb") as out:
            proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
            with self._guard:
                self._active[job.name] = proc
            try:
                code = proc.wait(timeout=job.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                _kill_tree(proc)
                code, timed_out = proc.returncode, True
            except BaseException:
                _kill_tree(proc)
                raise
            finally:
                with self._guard:
                    self._active.pop(job.name, None)
                    stopping = self._stopping
        if stopping is not None and code != 0:
            status, error = "failed", stopping
        elif timed_out:
            where = _running_cell(output)
            status = "timed_out"
            error = f"timed out after {job.timeout:g}s{where}; the run was killed"
        elif code == 0:
            status, error = "succeeded", None
        else:
            status = "failed"
            error = notebook_error(output) or _tail(folder / "log.txt") or f"exit code {code}"
        if output.is_file():
            try:
                render_html(output, folder / "notebook.html", hide_code=job.hide_code)
            except Exception as err:
                log.exception("%s: run %s could not be rendered", job.name, run.id)
                if status == "succeeded":
                    status = "failed"
                error = "; ".join(filter(None, [error, f"the HTML rendering failed: {err}"]))
        self._finish(run, status, error)
        log.info("%s: run %s %s in %.1fs", job.name, run.id, run.status, run.duration or 0)

    def _finish(self, run: Run, status: str, error: str | None) -> None:
        run.status = status
        run.error = error[:MAX_ERROR] if error else None
        run.finished = self.clock()
        run.duration = round(run.finished - (run.started or run.created), 3)
        self.archive.save(run)


def render_html(notebook: Path, html: Path, *, hide_code: bool = False) -> Path:
    """The executed notebook as one HTML page (nbconvert's lab template; plots inline)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    return write_private(html, body)


def notebook_error(path: Path) -> str | None:
    """``Name: message (In [N])`` of the first error in an executed notebook, or None."""
    for number, cell in enumerate(_cells(path), start=1):
        for output in cell.get("outputs") or []:
            if output.get("output_type") == "error":
                message = _ANSI.sub("", str(output.get("evalue") or "")).strip()
                text = f"{output.get('ename', 'Error')}: {message}" if message else output["ename"]
                count = cell.get("execution_count")
                return f"{text} ({f'In [{count}]' if count else f'cell {number}'})"
    return None


def _running_cell(path: Path) -> str:
    """`` in cell N (`first line`)`` for the cell papermill was running, or ``""``."""
    for number, cell in enumerate(_cells(path), start=1):
        if (cell.get("metadata", {}).get("papermill") or {}).get("status") == "running":
            first = next((line for line in "".join(cell.get("source") or []).splitlines()
                          if line.strip()), "")  # fmt: skip
            return f" in cell {number} (`{first.strip()[:80]}`)"
    return ""


def _cells(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text()).get("cells") or []
    except (OSError, ValueError, AttributeError):
        return []


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL papermill, its kernel and whatever the kernel started, then reap papermill."""
    import psutil

    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in tree:
        with contextlib.suppress(psutil.Error):
            child.kill()
    proc.wait()
