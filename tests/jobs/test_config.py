"""jobs.yml: what the lab ships is sensible, and every mistake is an error naming its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import jobs
from helpers.jobs.config import LAB_JOBS_FILE, notebook_parameters
from tests.jobs.jobslab import jobs_file, write_notebook

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_jobs_load_with_sensible_schedules():
    found = jobs.load(LAB_JOBS_FILE)
    assert list(found) == ["sg-sweep", "incident-report", "access-keys"]
    assert found["sg-sweep"].schedule == "*/5 * * * *"
    for name in ("incident-report", "access-keys"):  # once a day
        minute, hour, *rest = found[name].schedule.split()
        assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"], name
    for job in found.values():
        assert job.notebook.is_relative_to(ROOT / "notebooks" / "jobs")
        assert job.description and 0 < job.timeout <= 600
        assert set(job.parameters) <= set(job.known)
    assert found["access-keys"].parameters == {"MAX_AGE_DAYS": 90, "MAX_IDLE_DAYS": 45}


def test_the_jobs_notebooks_are_thin_and_committed_without_outputs():
    import json

    for path in sorted((ROOT / "notebooks" / "jobs").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert not any(c["outputs"] or c["execution_count"] for c in code), path.name
        assert "parameters" in code[1]["metadata"].get("tags", []), path.name
        assert not any("def " in "".join(c["source"]) for c in code), f"{path.name} defines"
        assert notebook_parameters(path), path.name


def test_a_job_s_next_time_follows_its_cron_in_utc(tmp_path):
    found = jobs.load(jobs_file(tmp_path, {"daily": {"schedule": "0 7 * * *"}, "manual": {}}))
    midnight = 1_767_225_600.0  # 2026-01-01 00:00 UTC
    assert found["daily"].next_after(midnight) == midnight + 7 * 3600
    assert found["daily"].next_after(midnight + 7 * 3600) == midnight + 31 * 3600
    assert found["manual"].next_after(midnight) is None  # no schedule: by hand only


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"x": {"schedule": "every 5 minutes"}}, "jobs.x.schedule: 'every 5 minutes' is not a"),
        ({"x": {"schedule": "61 * * * *"}}, "jobs.x.schedule"),
        ({"x": {"notebook": "missing.ipynb"}}, "jobs.x.notebook: missing.ipynb does not exist"),
        ({"x": {"notebook": "jobs.yml"}}, "jobs.x.notebook: jobs.yml is not a notebook"),
        ({"x": {"notebook": ""}}, "jobs.x.notebook: required"),
        ({"x": {"cron": "* * * * *"}}, "jobs.x.cron: unknown field"),
        ({"x": {"parameters": {"NOPE": 1}}}, "jobs.x.parameters.NOPE: the notebook has no such"),
        ({"x": {"parameters": ["GREETING"]}}, "jobs.x.parameters: must map"),
        ({"x": {"timeout": 0}}, "jobs.x.timeout: 0 must be a positive number"),
        ({"x": {"timeout": "soon"}}, "jobs.x.timeout"),
        ({"x": {"keep": 0}}, "jobs.x.keep"),
        ({"x": {"hide_code": "yes"}}, "jobs.x.hide_code: must be true or false"),
        ({"Bad_Name": {}}, "jobs.Bad_Name: a job's name is lower-case"),
    ],
)
def test_a_mistake_names_its_field_and_nothing_loads(tmp_path, spec, message):
    path = jobs_file(tmp_path, spec)
    with pytest.raises(jobs.JobsError) as caught:
        jobs.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: [a, b]\n", "jobs must map each job's name"),
        ("tasks: {}\n", "one top-level key, jobs"),
        ("jobs:\n  x: {notebook: ok.ipynb}\n  x: {notebook: ok.ipynb}\n", "'x' is given twice"),
        ("jobs: {x: [\n", "not valid YAML"),
        ("jobs:\n  x: a notebook\n", "jobs.x: must be a mapping"),
    ],
)
def test_a_malformed_file_is_refused_whole(tmp_path, text, message):
    jobs_file(tmp_path, {})
    path = tmp_path / "jobs.yml"
    path.write_text(text)
    with pytest.raises(jobs.JobsError, match=r"jobs\.yml") as caught:
        jobs.load(path)
    assert message in str(caught.value)


def test_a_missing_jobs_file_names_the_setting(tmp_path):
    with pytest.raises(jobs.JobsError, match=r"no such jobs file .*JOBS_FILE"):
        jobs.load(tmp_path / "nope.yml")


def test_a_notebook_without_a_parameters_cell_is_refused(tmp_path):
    path = jobs_file(tmp_path, {"x": {"notebook": "plain.ipynb"}})
    write_notebook(tmp_path / "plain.ipynb", "X = 1")
    text = (tmp_path / "plain.ipynb").read_text().replace('"tags": ["parameters"]', '"tags": []')
    (tmp_path / "plain.ipynb").write_text(text)
    with pytest.raises(jobs.JobsError, match=r"jobs\.x\.notebook: plain\.ipynb has no cell tagged"):
        jobs.load(path)


def test_run_parameters_refuse_a_name_the_notebook_does_not_have(tmp_path):
    job = jobs.load(jobs_file(tmp_path, {"x": {"parameters": {"GREETING": "hi"}}}))["x"]
    assert job.run_parameters({}) == {"GREETING": "hi"}
    assert job.run_parameters({"GREETING": "<b>yo</b>"}) == {"GREETING": "<b>yo</b>"}
    with pytest.raises(jobs.JobsError, match=r"no parameter GRETING .*its parameters: GREETING"):
        job.run_parameters({"GRETING": "typo"})


def test_jobs_file_setting_and_the_default(tmp_path, monkeypatch):
    from helpers.config import Settings

    path = jobs_file(tmp_path, {"x": {}})
    assert jobs.default_path(Settings(_env_file=None, jobs_file=path)) == path
    monkeypatch.chdir(tmp_path)
    assert jobs.default_path(Settings(_env_file=None)) == Path("jobs.yml")
    monkeypatch.chdir(tmp_path.parent)
    assert jobs.default_path(Settings(_env_file=None)) == LAB_JOBS_FILE
