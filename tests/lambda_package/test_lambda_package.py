"""`lab package lambda`: a reproducible zip whose handler runs in a clean Python, as Lambda runs
it (the zip unpacked into a task folder on ``sys.path``, nothing else installed), on the SNS
and SQS event shapes, against the local world."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from helpers import detections, jira
from labstack.cli import main
from labstack.cli.package import HANDLER, build
from tests.conftest import private_world

pytestmark = pytest.mark.stack
#: The services the function talks to (its own world, so its tickets stay out of the session's).
SERVICES = ("aws", "jira", "slack", "splunk")

RUNNER = """
import json, sys
task = sys.argv[1]
sys.path.insert(0, task)
module, _, name = sys.argv[2].rpartition(".")
handler = getattr(__import__(module, fromlist=[name]), name)
import boto3, helpers, jira, pydantic, slack_sdk, splunklib, yaml
outside = [m.__name__ for m in (boto3, helpers, jira, pydantic, slack_sdk, splunklib, yaml)
           if not m.__file__.startswith(task)]
assert not outside, f"imported from outside the package: {outside}"
print(json.dumps(handler(json.load(sys.stdin), None)))
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with private_world(tmp_path_factory.mktemp("lambda-world") / ".lab", SERVICES) as settings:
        yield settings


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return build(tmp_path_factory.mktemp("lambda"))


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory, package) -> tuple[Path, Path]:
    """A virtual environment with nothing installed, and the zip unpacked as Lambda's task."""
    folder = tmp_path_factory.mktemp("clean")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")],
                   check=True)  # fmt: skip
    task = folder / "task"
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(task)
    return folder / "venv" / "bin" / "python", task


def invoke(clean_python, world, event: dict, state: Path) -> dict:
    python, task = clean_python
    env = {"PATH": os.environ["PATH"], "HOME": str(state), **world,
           "AUTOMATION_STATE_DIR": str(state)}  # fmt: skip
    env.pop("LAB_HOME", None)
    done = subprocess.run(
        [str(python), "-I", "-c", RUNNER, str(task), HANDLER],
        input=json.dumps(event), capture_output=True, text=True, cwd=task, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def sns_notification(resource: str, detection: str = "security-group-open-to-world") -> dict:
    """An SNS notification as the Splunk Add-on for AWS alert action publishes it."""
    row = {"detection": detection, "resource": resource,
           "account": "123456789012", "severity": "high", "region": "us-east-1",
           "playbook": detections.get(detection).playbook, "source_ip": "198.51.100.7",
           "actor": "arn:aws:iam::123456789012:user/developer",
           "details": "ingress from anywhere; from port(s) 3389"}  # fmt: skip
    message = {"search_name": detection, "sid": f"rt_{uuid.uuid4().hex}",
               "entity": resource, "correlation_id": f"{row['detection']}:{resource}:123456789012",
               "source": row["detection"], "timestamp": "2026-11-02T10:00:00Z",
               "message": row["details"], "event": json.dumps(row)}  # fmt: skip
    return {"Type": "Notification", "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:lab-alerts",
            "Message": json.dumps(message), "Timestamp": "2026-11-02T10:00:01.000Z"}  # fmt: skip


def tickets(resource: str) -> list:
    return jira.search(f'text ~ "{resource}"', client=jira.connect())


def test_the_zip_is_reproducible_and_names_what_it_holds(package, tmp_path, capsys):
    assert main(["package", "lambda", "--out", str(tmp_path)]) == 0
    again = tmp_path / "automation-lambda.zip"
    assert again.read_bytes() == package.path.read_bytes()
    out = capsys.readouterr().out
    assert package.sha256 in out and HANDLER in out and "glibc" in out
    with zipfile.ZipFile(package.path) as archive:
        names = set(archive.namelist())
        infos = archive.infolist()
    assert "helpers/automation/aws_lambda.py" in names
    assert "helpers/playbooks/policy.yml" in names  # data files travel with the code
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {n.split("/")[0] for n in names} >= {"boto3", "jira", "slack_sdk", "splunklib"}


def test_without_boto3_leaves_out_the_runtime_sdk(tmp_path):
    lean = build(tmp_path, without_boto3=True)
    assert not any(d.startswith(("boto3==", "botocore==")) for d in lean.distributions)


def test_handler_from_the_zip_runs_sns_and_sqs_events(clean_python, world, tmp_path):
    resource = f"sg-{uuid.uuid4().hex[:17]}"
    sns = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                        "Sns": sns_notification(resource)}]}  # fmt: skip
    result = invoke(clean_python, world, sns, tmp_path)
    assert result["batchItemFailures"] == []
    key = f"security-group-open-to-world:{resource}:123456789012"
    assert result["results"] == [f"1 incident(s): {key}"]
    [ticket] = tickets(resource)
    assert ticket.fields.status.name == "Done", ticket.fields.status.name  # no such group: fixed

    other = f"sg-{uuid.uuid4().hex[:17]}"
    good = json.dumps(sns_notification(other))
    sqs = {"Records": [
        {"eventSource": "aws:sqs", "messageId": "m-good", "body": good},
        {"eventSource": "aws:sqs", "messageId": "m-bad", "body": "{not json"},
    ]}  # fmt: skip
    result = invoke(clean_python, world, sqs, tmp_path)
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-bad"}]  # only it is retried
    assert len(tickets(other)) == 1


def test_a_cold_start_finds_the_open_ticket_again(clean_python, world, tmp_path):
    """Lambda retries an event after a crash, maybe in a new execution environment (an empty
    /tmp): the open ticket is found by its dedup key, not opened twice."""
    key_id = "AKIAIOSFODNN7EXAMPLE"  # the lab user's key: disabling it waits for an approval
    event = {"Records": [{"EventSource": "aws:sns", "Sns": sns_notification(
        key_id, "access-key-used-from-unexpected-country")}]}  # fmt: skip
    first = invoke(clean_python, world, event, tmp_path / "warm")
    again = invoke(clean_python, world, event, tmp_path / "cold")
    assert first["batchItemFailures"] == again["batchItemFailures"] == []
    [ticket] = tickets(key_id)
    assert ticket.fields.status.name == "Waiting for approval"
