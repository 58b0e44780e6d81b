"""terraform/ without a cloud account: every file parses (python-hcl2), the automation's policy
is the playbooks' declared permissions, the resources are the lab account's
(labstack/aws/account.yaml: names, queue redrive, trail settings), no admin port is open to the
world, and checkov passes with every skipped check justified."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml

from helpers import enrich, playbooks
from labstack.aws.account import load_account
from labstack.cli.package import HANDLER
from tests.tools import tool

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
POLICY = Path(__file__).resolve().parents[2] / "helpers" / "playbooks" / "policy.yml"


def _clean(value):
    """python-hcl2 keeps HCL's quotes on keys and strings, and marks blocks: drop both."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _load(folder: Path) -> dict:
    """Every block of every file of a module, merged: resources and data by type and name,
    locals, variables, outputs and module calls."""
    merged = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}, "module": {}}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            doc = _clean(hcl2.load(handle))
        for kind in ("resource", "data"):
            for block in doc.get(kind, []):
                for type_, named in block.items():
                    merged[kind].setdefault(type_, {}).update(named)
        for block in doc.get("locals", []):
            merged["locals"].update(block)
        for kind in ("variable", "output", "module"):
            for block in doc.get(kind, []):
                merged[kind].update(block)
    return merged


@pytest.fixture(scope="module")
def tf() -> dict:
    """The root module, with each module it calls under ``modules`` by its folder name."""
    root = _load(TERRAFORM)
    root["modules"] = {p.name: _load(p) for p in sorted((TERRAFORM / "modules").iterdir())}
    return root


def resolve(tf: dict, value, account: str = "123456789012"):
    """A string with ``${local.x}`` references filled in, as Terraform would with the defaults."""
    known = {"prefix": tf["variable"]["name_prefix"]["default"], "account_id": account}
    if not isinstance(value, str):
        return value
    for _ in range(5):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if match:  # a bare reference keeps the type of what it names
            name = match.group(1)
            value = known.get(name, tf["locals"].get(name))
            if not isinstance(value, str):
                return value
            continue
        value = re.sub(
            r"\$\{local\.(\w+)\}",
            lambda m: str(known.get(m.group(1), tf["locals"].get(m.group(1)))),
            value,
        )
    return value


def test_every_file_parses_and_names_a_provider(tf):
    assert tf["resource"], "no resources parsed"
    assert "aws_cloudtrail" in tf["resource"]


def test_the_automation_policy_is_the_declared_permissions(tf, capsys):
    from labstack.cli import main

    declared = sorted(set(playbooks.permissions()) | set(enrich.permissions()))
    shipped = json.loads((TERRAFORM / "automation-permissions.json").read_text())
    assert shipped == declared, "regenerate: lab playbooks permissions --json > terraform/..."
    assert main(["playbooks", "permissions", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == shipped
    statements = tf["data"]["aws_iam_policy_document"]["automation"]["statement"]
    by_sid = {s["sid"]: s for s in statements}
    assert "automation-permissions.json" in by_sid["EnrichAndRemediate"]["actions"]
    lab = {s["Sid"]: s for s in load_account().raw["automation_policy"]["Statement"]}
    assert sorted(lab["EnrichAndRemediate"]["Action"]) == shipped  # the lab account's twin
    assert by_sid["AlertQueue"]["actions"] == lab["AlertQueue"]["Action"]
    assert by_sid["AlertQueue"]["resources"] == ["${module.alerts.queue_arn}"]  # one queue only


def test_trail_bucket_and_queues_are_the_lab_accounts(tf):
    account = load_account().raw
    trail, alerts = account["trail"], account["alerts"]
    res = tf["resource"]
    cloudtrail = res["aws_cloudtrail"]["lab"]
    assert resolve(tf, cloudtrail["name"]) == trail["name"]
    assert cloudtrail["is_multi_region_trail"] is trail["multi_region"]
    assert cloudtrail["include_global_service_events"] is True
    assert cloudtrail["enable_log_file_validation"] is True
    assert resolve(tf, res["aws_s3_bucket"]["trail"]["bucket"]) == trail["bucket"]
    ingest, alert = tf["module"]["ingest"], tf["module"]["alerts"]
    expected = {
        "ingest": (ingest, trail["topic"], trail["queue"], trail["dead_letter_queue"],
                   trail["max_receive_count"]),
        "alerts": (alert, alerts["topic"], alerts["queue"], alerts["dead_letter_queue"],
                   alerts["max_receive_count"]),
    }  # fmt: skip
    for name, (call, topic, queue, dlq, receives) in expected.items():
        assert call["source"] == "./modules/notified_queue", name
        assert resolve(tf, call["topic_name"]) == topic
        assert resolve(tf, call["queue_name"]) == queue
        assert resolve(tf, call["dead_letter_queue_name"]) == dlq
        assert resolve(tf, call["max_receive_count"]) == receives
    assert resolve(tf, ingest["visibility_timeout"]) == trail["visibility_timeout"]
    notification = res["aws_s3_bucket_notification"]["trail"]["topic"][0]
    assert notification["topic_arn"] == "${module.ingest.topic_arn}"


def test_each_queue_parks_what_fails_in_its_dead_letter_queue(tf):
    module = tf["modules"]["notified_queue"]["resource"]
    queue = module["aws_sqs_queue"]["this"]
    assert "aws_sqs_queue.dead_letters.arn" in queue["redrive_policy"]
    assert "var.max_receive_count" in queue["redrive_policy"]
    assert module["aws_sns_topic_subscription"]["this"]["endpoint"] == "${aws_sqs_queue.this.arn}"
    policy = tf["modules"]["notified_queue"]["data"]["aws_iam_policy_document"]["queue"]
    [statement] = policy["statement"]
    assert statement["condition"][0]["values"] == ["${aws_sns_topic.this.arn}"]  # only its topic


def test_the_bucket_policy_is_cloudtrails(tf):
    statements = tf["data"]["aws_iam_policy_document"]["trail_bucket"]["statement"]
    by_sid = {s["sid"]: s for s in statements}
    write = by_sid["AWSCloudTrailWrite"]
    assert write["actions"] == ["s3:PutObject"]
    assert write["resources"] == ["${aws_s3_bucket.trail.arn}/AWSLogs/${local.account_id}/*"]
    conditions = {c["variable"]: c["values"] for c in write["condition"]}
    assert conditions["s3:x-amz-acl"] == ["bucket-owner-full-control"]
    assert conditions["aws:SourceArn"] == ["${local.trail_arn}"]
    assert by_sid["AWSCloudTrailAclCheck"]["actions"] == ["s3:GetBucketAcl"]
    assert by_sid["DenyInsecureTransport"]["effect"] == "Deny"


def test_break_glass_is_what_the_guardrails_spare(tf):
    policy = yaml.safe_load(POLICY.read_text())
    user = tf["resource"]["aws_iam_user"]["break_glass"]
    assert user["name"] in policy["break_glass_users"]
    tag = policy["protected_tag"]
    assert user["tags"][tag["key"]] in tag["values"]
    assert "aws_iam_access_key" not in tf["resource"]  # no long-lived keys are made


def test_no_admin_port_admits_the_world(tf):
    rules = tf["resource"]["aws_vpc_security_group_ingress_rule"]
    assert rules["admin"]["cidr_ipv4"] == "${each.value.cidr}"
    assert "var.admin_cidrs" in rules["admin"]["for_each"]
    assert "cidr_ipv4" not in rules["peers"]  # servers reach each other by group, not by range
    for name, rule in rules.items():
        assert "0.0.0.0/0" not in json.dumps(rule), name
    [validation] = tf["variable"]["admin_cidrs"]["validation"]
    assert "endswith(cidr" in validation["condition"] and "/0" in validation["condition"]
    assert tf["variable"]["admin_cidrs"]["default"] == []  # nothing open unless asked


def test_the_lambda_runs_the_packaged_handler_from_the_alert_queue(tf):
    function = tf["resource"]["aws_lambda_function"]["automation"]
    assert function["handler"] == HANDLER
    assert function["runtime"] == "python3.11"  # the Python `lab package lambda` builds for
    mapping = tf["resource"]["aws_lambda_event_source_mapping"]["alerts"]
    assert mapping["event_source_arn"] == "${module.alerts.queue_arn}"
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    visibility = resolve(tf, tf["module"]["alerts"]["visibility_timeout"])
    assert visibility >= 6 * function["timeout"]  # AWS's advice


def test_checkov_passes_and_every_skip_says_why():
    command = [str(tool("checkov")), "-d", str(TERRAFORM), "--framework", "terraform",
               "--skip-download", "-o", "json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert summary["passed"] > 100
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 30, f"{check['check_id']} on {check['resource']}: say why"
    skips = re.findall(
        r"#checkov:skip=(\w+)", "".join(p.read_text() for p in TERRAFORM.glob("*.tf"))
    )
    assert len(skips) == summary["skipped"]  # no stale skip for a check that no longer fails
