"""``lab jobs`` against the session's local world: each shipped job runs, is archived and
rendered; the sweep hands what it finds to the automation server, and fails clearly without it."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from helpers import jobs
from helpers.automation import api
from helpers.aws import session
from helpers.config import get_settings
from labstack import cli
from labstack.world import free_port
from tests.jobs.jobslab import wait_for

pytestmark = pytest.mark.stack


@pytest.fixture
def lab(lab_world):
    """The session's world, with the process environment put back after ``lab jobs``."""
    saved = dict(os.environ)
    yield lab_world
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def _archive(lab_world) -> jobs.Archive:
    return jobs.Archive(lab_world.home / "jobs")


def _last(lab_world, name: str) -> jobs.Run:
    run = _archive(lab_world).last(name)
    assert run is not None, f"no run of {name} was archived"
    return run


def _html(lab_world, run: jobs.Run) -> str:
    path = _archive(lab_world).file(run.job, run.id, "notebook.html")
    assert path is not None, f"{run.job} run {run.id} has no HTML rendering"
    return path.read_text()


def _rendered(lab_world, name: str, capsys) -> jobs.Run:
    """The run ``lab jobs run`` just made: succeeded, with its notebook and HTML archived."""
    out = capsys.readouterr().out
    run = _last(lab_world, name)
    assert run.status == "succeeded", run.error
    assert {"notebook.html", "notebook.ipynb"} <= set(run.files)
    assert run.trigger == "manual" and run.duration > 0
    assert run.id in out and "notebook.html" in out
    return run


@pytest.fixture
def open_group(lab_world):
    """A security group with SSH open to the world, removed afterwards."""
    ec2 = session().client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    name = f"jobs-sweep-{uuid.uuid4().hex[:8]}"
    group = ec2.create_security_group(GroupName=name, Description="sweep job test", VpcId=vpc)
    rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}  # fmt: skip
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[rule])
    yield group["GroupId"]
    ec2.delete_security_group(GroupId=group["GroupId"])


def test_the_sweep_job_hands_a_world_open_group_to_the_automation_server(lab, open_group, capsys):
    assert cli.main(["jobs", "run", "sg-sweep", "-p", f"GROUP_IDS=[{open_group}]"]) == 0
    run = _rendered(lab, "sg-sweep", capsys)
    assert run.parameters == {"GROUP_IDS": [open_group]}
    html = _html(lab, run)
    assert open_group in html and "tcp 22 from 0.0.0.0/0" in html
    account = session().client("sts").get_caller_identity()["Account"]
    key = f"security-group-open-to-world:{open_group}:{account}"
    incident = wait_for(lambda: api.incident(key), 30, f"the incident {key}")
    assert incident["resource"] == open_group
    assert any(s["text"].startswith("From a sweep: the sg-sweep job") for s in incident["timeline"])


def test_the_sweep_fails_at_once_and_clearly_when_the_automation_server_is_down(lab):
    dead = f"http://127.0.0.1:{free_port()}"
    runner = jobs.Runner(_archive(lab), env=dict(os.environ, AUTOMATION_URL=dead))
    run = runner.run(jobs.load()["sg-sweep"], {"GROUP_IDS": ["sg-00000000000000000"]})
    assert run.status == "failed"  # refused at once: a hang would have timed out
    assert run.error.startswith(f"Unreachable: the automation server at {dead} did not answer")
    assert "notebook.html" in run.files
    assert "is it running?" in _html(lab, run)


def test_the_incident_report_renders_its_plots_with_and_without_incidents(lab, capsys):
    assert cli.main(["jobs", "run", "incident-report"]) == 0
    run = _rendered(lab, "incident-report", capsys)
    html = _html(lab, run)
    assert html.count("data:image/png;base64") >= 2  # by detection and state; time to fix
    assert "median_minutes_to_fix" in html
    assert "report.summary" not in html  # a report: the code cells are left out
    assert cli.main(["jobs", "run", "incident-report", "-p", "HOURS=0"]) == 0
    empty = _rendered(lab, "incident-report", capsys)
    assert empty.parameters == {"HOURS": 0}
    assert _html(lab, empty).count("data:image/png;base64") >= 2


def test_the_access_keys_report_flags_keys_past_its_thresholds(lab, capsys):
    assert cli.main(["jobs", "run", "access-keys"]) == 0
    fresh = _rendered(lab, "access-keys", capsys)
    assert "AKIAEXAMPLESTUDENT01" in _html(lab, fresh)  # every key is listed
    assert "need attention" in _html(lab, fresh)
    assert cli.main(["jobs", "run", "access-keys", "-p", "MAX_AGE_DAYS=-1"]) == 0
    strict = _rendered(lab, "access-keys", capsys)
    assert strict.parameters == {"MAX_AGE_DAYS": -1, "MAX_IDLE_DAYS": 45}
    html = _html(lab, strict)
    assert "rotate after -1" in html and "AKIAIOSFODNN7EXAMPLE" in html


def test_lab_jobs_list_and_runs_show_the_jobs_and_their_archived_runs(lab, capsys):
    assert cli.main(["jobs", "run", "access-keys"]) == 0
    made = _last(lab, "access-keys")
    capsys.readouterr()
    assert cli.main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    for name, schedule in (("sg-sweep", "*/5 * * * *"), ("incident-report", "0 7 * * *")):
        assert name in out and schedule in out
    assert "schedules nothing (JOBS_SCHEDULER=off)" in out  # a scratch world runs no job itself
    assert cli.main(["jobs", "runs", "access-keys"]) == 0
    out = capsys.readouterr().out
    assert made.id in out and "ok" in out
    assert cli.main(["jobs", "runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert made.id in {r["id"] for r in runs}


def test_lab_jobs_run_refuses_an_unknown_job_or_parameter(lab, capsys):
    assert cli.main(["jobs", "run", "no-such-job"]) == 2
    assert "no job 'no-such-job'; jobs: sg-sweep, incident-report, access-keys" in (
        capsys.readouterr().err
    )
    assert cli.main(["jobs", "run", "access-keys", "-p", "MAX_AGE=3"]) == 2
    assert "no parameter MAX_AGE (its parameters: MAX_AGE_DAYS, MAX_IDLE_DAYS)" in (
        capsys.readouterr().err
    )
    assert cli.main(["jobs", "run", "access-keys", "-p", "MAX_AGE_DAYS"]) == 2
    assert "-p expects KEY=VALUE" in capsys.readouterr().err


def test_a_failed_run_exits_non_zero_with_its_error(lab, capsys, tmp_path):
    from tests.jobs.jobslab import jobs_file

    path = jobs_file(tmp_path, {"broken": {"notebook": "fail"}})
    assert cli.main(["jobs", "--jobs", str(path), "run", "broken", "-p", "MESSAGE=bad day"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out
    assert "lab: broken failed: RuntimeError: bad day (In [" in captured.err


def test_lab_status_lists_the_jobs_page(lab, capsys):
    assert cli.main(["status", "--json"]) == 0
    services = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert services["jobs"]["healthy"]
    assert services["jobs"]["views"] == [lab.url("jobs") + "/"]
