"""The jobs page and its JSON API: each job's schedule, next run and last status; every run.

==================================  ==============================================================
``GET /``, ``/jobs/<name>``         the page: jobs, then runs (status, duration, parameters, error)
``GET /runs/<job>/<id>/<file>``     a run's ``notebook.html``, ``notebook.ipynb`` or ``log.txt``
``GET /api/jobs``                   the jobs, their next run and last run
``GET /api/runs``                   runs, newest first (``?job=``, ``?limit=``)
``GET /api/runs/<job>/<id>``        one run's record
==================================  ==============================================================

The page is rendered from Jinja templates with autoescaping and a CSP that allows no script. An
executed notebook's HTML carries scripts of its own, so it is served with ``sandbox`` in its CSP:
it gets an origin of its own and runs nothing, whatever a notebook printed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from helpers.jobs.archive import FILES, Archive, Run
from helpers.jobs.config import Job
from helpers.runtime.webapp import RoutedApp, pages
from helpers.runtime.webapp import json_response as _json

__all__ = ["RUN_HTML_CSP", "JobsApp"]

log = logging.getLogger("helpers.jobs.app")

HERE = Path(__file__).parent
#: A run's HTML: a sandbox (an opaque origin, no script, no form, no navigation of the page),
#: its own inline styles and inline images only, nothing fetched.
RUN_HTML_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


class JobsApp(RoutedApp):
    """WSGI app over the jobs, their archive and (when it runs here) the scheduler.

    ``next_runs`` and ``running`` are the scheduler's (None when nothing schedules here).
    """

    service = "the jobs"

    def __init__(
        self,
        jobs: Mapping[str, Job],
        archive: Archive,
        *,
        next_runs: Callable[[], Mapping[str, float | None]] | None = None,
        running: Callable[[], list[str]] | None = None,
        last_turn: Mapping[str, str] | None = None,
    ):
        self.jobs = dict(jobs)
        self.archive = archive
        self.next_runs = next_runs
        self.running = running or (lambda: [])
        self.last_turn = last_turn if last_turn is not None else {}
        self.pages = pages(
            HERE / "templates",
            duration=_duration,
            param=lambda value: json.dumps(value, ensure_ascii=False),
        )
        self.urls = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/jobs/<name>", endpoint="page_job", methods=["GET"]),
                Rule("/runs/<job>/<run_id>/<name>", endpoint="run_file", methods=["GET"]),
                Rule("/api/jobs", endpoint="api_jobs", methods=["GET"]),
                Rule("/api/runs", endpoint="api_runs", methods=["GET"]),
                Rule("/api/runs/<job>/<run_id>", endpoint="api_run", methods=["GET"]),
                Rule("/static/jobs.css", endpoint="css", methods=["GET"]),
            ],
            strict_slashes=False,
        )

    def error_response(self, error: Exception) -> Response | None:
        return _json({"error": str(error)}, 400) if isinstance(error, ValueError) else None

    # -- what the page and the API show ----------------------------------------------------------
    def job_rows(self) -> list[dict[str, Any]]:
        """One row per job: its fields, next run, whether it runs now, its last run."""
        upcoming = dict(self.next_runs()) if self.next_runs else {}
        running = set(self.running())
        rows = []
        for job in self.jobs.values():
            last = self.archive.last(job.name)
            rows.append({
                "name": job.name, "description": job.description, "schedule": job.schedule,
                "timeout": job.timeout, "parameters": dict(job.parameters),
                "notebook": job.notebook.name, "next": upcoming.get(job.name),
                "running": job.name in running or bool(last and not last.done),
                "last": last.as_dict() if last else None, "turn": self.last_turn.get(job.name),
            })  # fmt: skip
        return rows

    def _job(self, name: str) -> Job:
        if name not in self.jobs:
            raise NotFound(f"no job {name!r}; jobs: {', '.join(self.jobs)}")
        return self.jobs[name]

    def _runs(self, job: str | None, limit: int = 200) -> list[Run]:
        return self.archive.runs(job, limit=limit)

    # -- pages -----------------------------------------------------------------------------------
    def _page(self, only: str | None) -> Response:
        rows = self.job_rows()
        html = self.pages.get_template("jobs.html").render(
            jobs=[r for r in rows if only is None or r["name"] == only],
            runs=[r.as_dict() for r in self._runs(only)],
            only=only,
            scheduling=self.next_runs is not None,
        )
        return Response(html, content_type="text/html; charset=utf-8")

    def on_page(self, request: Request) -> Response:
        return self._page(None)

    def on_page_job(self, request: Request, name: str) -> Response:
        self._job(name)
        return self._page(name)

    def on_run_file(self, request: Request, job: str, run_id: str, name: str) -> Response:
        path = self.archive.file(job, run_id, name)
        if path is None:
            raise NotFound(f"run {job}/{run_id} has no {name}")
        response = Response(path.read_bytes(), content_type=FILES[name])
        if name == "notebook.html":
            response.headers["Content-Security-Policy"] = RUN_HTML_CSP
        elif name == "notebook.ipynb":
            response.headers["Content-Disposition"] = f'attachment; filename="{job}-{run_id}.ipynb"'
        return response

    def on_css(self, request: Request) -> Response:
        return Response((HERE / "templates" / "jobs.css").read_text(), content_type="text/css")

    # -- the API ---------------------------------------------------------------------------------
    def on_api_jobs(self, request: Request) -> Response:
        return _json({"jobs": self.job_rows(), "scheduling": self.next_runs is not None})

    def on_api_runs(self, request: Request) -> Response:
        job = request.args.get("job")
        if job is not None:
            self._job(job)
        raw = request.args.get("limit", "200")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise ValueError("limit must be a whole number from 1 to 1000")
        return _json({"runs": [r.as_dict() for r in self._runs(job, int(raw))]})

    def on_api_run(self, request: Request, job: str, run_id: str) -> Response:
        run = self.archive.get(job, run_id)
        if run is None:
            raise NotFound(f"no run {job}/{run_id}")
        return _json(run.as_dict())


def _duration(seconds: float | None) -> str:
    """``4.2s``, ``3m 05s``, ``2h 01m``; empty for none.

    >>> _duration(4.21), _duration(185), _duration(7260)
    ('4.2s', '3m 05s', '2h 01m')
    """
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"
