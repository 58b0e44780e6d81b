"""Real papermill runs of small notebooks (no world needed): archived and rendered, failures and
timeouts recorded with their error, one run at a time, and nothing lost to a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from helpers import jobs
from helpers.config import Settings
from labstack import process
from tests.jobs.jobslab import FakeClock, jobs_file, wait_for

HOSTILE = "<script>window.__xss=1</script><img src=x onerror=alert(1)>"


@pytest.fixture
def lab(tmp_path) -> SimpleNamespace:
    """Test jobs, an archive and a runner in a temporary folder."""
    found = jobs.load(
        jobs_file(
            tmp_path / "book",
            {
                "ok": {"schedule": "*/5 * * * *", "parameters": {"GREETING": "hello"}},
                "fail": {"notebook": "fail", "schedule": "*/5 * * * *"},
                "hang": {
                    "notebook": "hang",
                    "timeout": 20,
                },  # time enough for a kernel on a busy host
            },
        )
    )
    archive = jobs.Archive(tmp_path / "archive")
    return SimpleNamespace(jobs=found, archive=archive, runner=jobs.Runner(archive))


def test_a_run_is_archived_with_the_executed_notebook_its_html_and_its_record(lab):
    run = lab.runner.run(lab.jobs["ok"], {"GREETING": HOSTILE})
    assert run.status == "succeeded" and run.error is None
    assert run.files == ["log.txt", "notebook.html", "notebook.ipynb"]
    assert run.parameters == {"GREETING": HOSTILE} and run.trigger == "manual"
    assert run.created <= run.started < run.finished and run.duration > 0
    folder = lab.archive.run_dir("ok", run.id)
    executed = json.loads((folder / "notebook.ipynb").read_text())
    printed = "".join(
        "".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])
    )
    assert f"{HOSTILE} from a job" in printed  # papermill injected the parameter
    html = (folder / "notebook.html").read_text()
    assert "from a job" in html and "<script>window.__xss" not in html  # escaped, not markup
    again = jobs.Archive(lab.archive.root)  # what a restarted process reads
    assert [r.as_dict() for r in again.runs("ok")] == [run.as_dict()]
    assert json.loads((folder / "run.json").read_text())["status"] == "succeeded"


def test_a_notebook_that_raises_is_marked_failed_with_its_error(lab):
    run = lab.runner.run(lab.jobs["fail"], {"MESSAGE": "no credentials for the audit"})
    assert run.status == "failed" and run.failed
    assert run.error.startswith("RuntimeError: no credentials for the audit (In [")
    assert "notebook.html" in run.files  # the rendering shows where it stopped
    assert lab.archive.last("fail").error == run.error


def test_a_hung_notebook_is_killed_at_its_timeout_with_its_kernel(lab, tmp_path):
    pid_file = tmp_path / "kernel.pid"
    run = lab.runner.run(lab.jobs["hang"], {"PID_FILE": str(pid_file)})
    assert run.status == "timed_out" and run.failed
    assert run.error.startswith("timed out after 20s in cell 3 (`import os, time`)")
    kernel = int(pid_file.read_text())
    wait_for(lambda: not process.alive(kernel), 10, "the hung kernel to be gone")
    assert "notebook.html" in run.files  # what ran before the kill is kept


def test_one_run_at_a_time_per_job(lab):
    with lab.archive.lock("ok"), pytest.raises(jobs.JobBusy, match="ok is running already"):
        lab.runner.run(lab.jobs["ok"])
    assert lab.archive.runs("ok") == []


def test_an_unknown_parameter_is_refused_before_anything_is_archived(lab):
    with pytest.raises(jobs.JobsError, match="no parameter NOPE"):
        lab.runner.run(lab.jobs["ok"], {"NOPE": 1})
    assert lab.archive.runs() == []


def test_due_jobs_run_for_real_and_a_failing_one_does_not_stop_the_other(lab):
    clock = FakeClock(time.time())
    scheduler = jobs.Scheduler(
        lab.jobs, lambda job, trigger: lab.runner.run(job, trigger=trigger), clock=clock
    )
    clock.now = scheduler.next_runs()["ok"]
    assert sorted(scheduler.tick()) == ["fail", "ok"]
    scheduler.join(120)
    runs = {r.job: r for r in lab.archive.runs()}
    assert runs["ok"].status == "succeeded" and runs["ok"].trigger == "schedule"
    assert runs["fail"].status == "failed" and "RuntimeError: boom" in runs["fail"].error
    assert "notebook.html" in runs["ok"].files


def test_stopping_the_runner_marks_its_runs_failed_with_the_reason(lab):
    done = {}
    thread = threading.Thread(target=lambda: done.update(run=lab.runner.run(lab.jobs["hang"])))
    thread.start()
    wait_for(lambda: lab.runner.running() == ["hang"], 30, "the run to start")
    lab.runner.stop("stopped: the jobs service was stopped during the run")
    thread.join(30)
    assert done["run"].status == "failed"
    assert done["run"].error == "stopped: the jobs service was stopped during the run"


def test_a_run_left_running_by_a_killed_process_is_marked_failed_on_start(lab, tmp_path):
    """kill -9 of whatever ran the job: papermill and its kernel go with it, and the next start
    (the service, ``lab jobs run``, ``lab jobs runs``) marks the run failed."""
    pid_file = tmp_path / "kernel.pid"
    script = (
        "import sys; from pathlib import Path; from helpers import jobs;"
        "found = jobs.load(Path(sys.argv[1]));"
        "jobs.Runner(jobs.Archive(Path(sys.argv[2]))).run(found['hang'], {'PID_FILE': sys.argv[3],"
        " 'SECONDS': 600})"
    )
    doomed = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "book" / "jobs.yml"),
         str(lab.archive.root), str(pid_file)],
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(pid_file.exists, 60, "the notebook to start")
        os.killpg(doomed.pid, signal.SIGKILL)  # only the runner's own process group
        doomed.wait(10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    [left] = lab.archive.runs("hang")
    assert left.status == "running"
    kernel = int(pid_file.read_text())
    wait_for(lambda: not process.alive(kernel), 15, "the orphaned kernel to exit")
    settings = Settings(_env_file=None, jobs_archive=lab.archive.root,
                        jobs_file=tmp_path / "book" / "jobs.yml")  # fmt: skip
    service = jobs.build(settings, scheduling=False)
    assert [(r.job, r.id) for r in service.recovered] == [("hang", left.id)]
    record = lab.archive.get("hang", left.id)
    assert record.status == "failed"
    assert record.error.startswith(f"interrupted: the process that ran it (pid {doomed.pid})")
    assert jobs.Archive(lab.archive.root).recover() == []  # once is enough


def test_recovery_leaves_a_run_alone_while_its_job_is_held(lab):
    run = lab.archive.new_run("ok", {}, "manual")
    run.status = "running"
    lab.archive.save(run)
    with lab.archive.lock("ok"):  # someone is still running it
        assert lab.archive.recover() == []
    assert lab.archive.get("ok", run.id).status == "running"
    assert [r.id for r in lab.archive.recover()] == [run.id]


def test_the_archive_keeps_the_newest_runs_of_each_job(lab):
    clock = FakeClock()
    archive = jobs.Archive(lab.archive.root, clock=clock)
    made = []
    for _ in range(4):
        run = archive.new_run("ok", {}, "schedule")
        run.status = "succeeded"
        archive.save(run)
        made.append(run.id)
        clock.now += 300
    assert archive.prune("ok", keep=2) == [made[1], made[0]]
    assert [r.id for r in archive.runs("ok")] == [made[3], made[2]]


def test_archive_paths_refuse_anything_but_a_job_and_a_run_id(lab):
    for job, run_id in (("../etc", "20260101T000000Z-abcd"), ("ok", "../../passwd"),
                        ("ok", "20260101T000000Z-abcd/..")):  # fmt: skip
        with pytest.raises(ValueError):
            lab.archive.run_dir(job, run_id)
        assert lab.archive.file(job, run_id, "notebook.html") is None
    run = lab.archive.new_run("ok", {}, "manual")
    assert lab.archive.file("ok", run.id, "run.json") is None  # only the listed files
    assert lab.archive.file("ok", run.id, "parameters.yml") is None
