"""The jobs service and ``lab jobs serve``: they run a job when it is due, serve the runs page,
and a restart after a crash mid-run marks the interrupted run failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from helpers import jobs
from labstack import process
from tests.jobs.jobslab import jobs_file, wait_for

#: Every two seconds (the sixth field is seconds), so a test waits for a turn, not a minute.
SOON = "* * * * * */2"


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def _runs(url: str) -> list[dict]:
    return _http().get(f"{url}/api/runs", timeout=10).json()["runs"]


def _spawn(tmp_path: Path, jobs_yml: Path, name: str = "jobs", **env) -> process.Process:
    settings = {"JOBS_FILE": str(jobs_yml), "JOBS_ARCHIVE": str(tmp_path / "archive"), **env}
    return process.spawn("jobs", tmp_path / name, env=settings)


def test_the_service_runs_a_job_when_it_is_due_and_lists_it(tmp_path):
    path = jobs_file(tmp_path / "book", {"tick": {"schedule": SOON}, "manual": {}})
    with _spawn(tmp_path, path, JOBS_SCHEDULER="on") as service:
        health = _http().get(service.url + "/_lab/health", timeout=10).json()
        assert health["scheduler"] == "on" and health["jobs"] == 2
        run = wait_for(
            lambda: next((r for r in _runs(service.url) if r["status"] == "succeeded"), None),
            90,
            "a scheduled run of tick",
        )
        assert run["job"] == "tick" and run["trigger"] == "schedule"
        listed = _http().get(service.url + "/api/jobs", timeout=10).json()
        rows = {j["name"]: j for j in listed["jobs"]}
        assert rows["tick"]["next"] is not None and rows["manual"]["next"] is None
        page = _http().get(service.url + "/", timeout=10).text
        assert f"/runs/tick/{run['id']}/notebook.html" in page
        assert not any(r["job"] == "manual" for r in _runs(service.url))


@pytest.mark.stack
def test_a_scratch_world_s_jobs_service_schedules_nothing(lab_world):
    url = lab_world.url("jobs")
    health = _http().get(url + "/_lab/health", timeout=10).json()
    assert health["scheduler"] == "off"
    rows = _http().get(url + "/api/jobs", timeout=10).json()
    assert {j["name"] for j in rows["jobs"]} == {"sg-sweep", "incident-report", "access-keys"}
    assert all(j["next"] is None for j in rows["jobs"]) and rows["scheduling"] is False


def test_lab_jobs_serve_runs_a_job_when_due_and_stops_on_sigterm(tmp_path):
    path = jobs_file(tmp_path / "book", {"tick": {"schedule": SOON}})
    archive = jobs.Archive(tmp_path / "archive")
    env = dict(os.environ, JOBS_ARCHIVE=str(archive.root), LAB_HOME=str(tmp_path / ".lab"))
    lab = Path(sys.executable).with_name("lab")
    serve = subprocess.Popen(
        [str(lab), "jobs", "--jobs", str(path), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: any(r.status == "succeeded" for r in archive.runs("tick")), 90, "a run")
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=30)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    assert serve.returncode == 0, out
    assert "scheduling tick (* * * * * */2)" in out
    assert "tick" in out and " ok " in out and "stopped" in out


def test_a_crash_mid_run_leaves_a_failed_run_after_the_restart(tmp_path):
    path = jobs_file(
        tmp_path / "book",
        {"slow": {"notebook": "hang", "schedule": SOON, "timeout": 600}, "other": {}},
    )
    service = _spawn(tmp_path, path, JOBS_SCHEDULER="on")
    try:
        running = wait_for(
            lambda: next((r for r in _runs(service.url) if r["status"] == "running"), None),
            90,
            "the slow run to start",
        )
    finally:
        os.killpg(service.pid, signal.SIGKILL)  # a crash: no clean stop, nothing marked
        service.popen.wait(10)
    with _spawn(tmp_path, path, name="jobs-again", JOBS_SCHEDULER="off") as again:
        record = next(r for r in _runs(again.url) if r["id"] == running["id"])
        assert record["status"] == "failed"
        assert record["error"].startswith("interrupted: the process that ran it")
        page = _http().get(again.url + "/", timeout=10).text
        assert "interrupted: the process that ran it" in page


def test_stopping_the_service_mid_run_marks_the_run_failed(tmp_path):
    path = jobs_file(tmp_path / "book", {"slow": {"notebook": "hang", "schedule": SOON}})
    with _spawn(tmp_path, path, JOBS_SCHEDULER="on") as service:
        running = wait_for(
            lambda: next((r for r in _runs(service.url) if r["status"] == "running"), None),
            90,
            "the slow run to start",
        )
    record = jobs.Archive(tmp_path / "archive").get("slow", running["id"])
    assert record.status == "failed"
    assert record.error == "stopped: the jobs service was stopped during the run"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/runs/tick/20260101T000000Z-abcd/notebook.html", 404),
        ("/runs/tick/..%2f..%2fetc/passwd", 404),
        ("/api/runs?job=nope", 404),
        ("/api/runs?limit=0", 400),
        ("/jobs/nope", 404),
    ],
)
def test_the_page_refuses_what_is_not_a_run_file(tmp_path, path, status):
    from werkzeug.test import Client

    from helpers.config import Settings

    book = jobs_file(tmp_path / "book", {"tick": {}})
    settings = Settings(_env_file=None, jobs_file=book, jobs_archive=tmp_path / "archive")
    client = Client(jobs.build(settings, scheduling=False).app)
    response = client.get(path)
    assert response.status_code == status
    assert response.json["error"]
    assert "script-src" not in response.headers["Content-Security-Policy"]
