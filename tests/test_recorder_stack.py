"""The emulated CloudTrail, end to end: real boto3 calls against the running world, records read
back from the trail bucket as the pipeline will read them.

Record shapes follow the CloudTrail User Guide ("CloudTrail record contents", "CloudTrail
userIdentity element") and the per-service examples it links to.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import unquote

import pytest

from helpers import simulate
from helpers.aws import actor_session, session
from tests.trail import delivered, find

pytestmark = pytest.mark.stack

ACCOUNT = "123456789012"
ATTACKER_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(scope="module")
def bucket(lab_world) -> str:
    return lab_world.settings["CLOUDTRAIL_BUCKET"]


def _by_event(result, name):
    """Records of ``name`` made by the scenario's actor, from its address, after it started."""
    seen = result.resources.get("_seen_ids", set())
    key = result.actor["accessKeyId"]
    return lambda r: (
        r["eventName"] == name
        and r["eventID"] not in seen
        and r["eventTime"] >= result.started.strftime("%Y-%m-%dT%H:%M:%SZ")
        and r.get("sourceIPAddress") == result.actor["sourceIPAddress"]
        and r["userIdentity"].get("accessKeyId", key) == key
    )


def _run(name, bucket):
    """Run a scenario, remembering which records were delivered before it."""
    simulate.flush()
    seen = {r["eventID"] for _, r in delivered(bucket)}
    result = simulate.run(name)
    result.resources["_seen_ids"] = seen
    return result


def _flat_values(value, path):
    """Values at a dotted path where lists are walked (what Splunk's {} means)."""
    parts = path.split(".")
    values = [value]
    for part in parts:
        nxt = []
        for v in values:
            v_items = v if isinstance(v, list) else [v]
            for item in v_items:
                if isinstance(item, dict) and part in item:
                    got = item[part]
                    nxt.extend(got if isinstance(got, list) else [got])
        values = nxt
    return values


@pytest.fixture
def notifications(lab_world):
    """A queue of our own subscribed to the trail's topic, so the lab's ingester (which consumes
    the main queue) does not race the test for the S3 notifications."""
    lab = session()
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if "cloudtrail" in t["TopicArn"]
    )
    url = sqs.create_queue(QueueName=f"test-notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    yield url
    sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sqs.delete_queue(QueueUrl=url)


def test_sg_open_world_reaches_bucket_and_queue(lab_world, bucket, notifications):
    """The issue's acceptance path: record in the bucket (by the delivery loop, no flush), with
    the world CIDR, the attacker's key, IP and user agent, and an S3 notification via SNS."""
    result = simulate.run("sg-open-world")
    try:
        records = find(bucket, _by_event(result, "AuthorizeSecurityGroupIngress"), flush=False)
        assert len(records) == 1
        record = records[0]
        assert record["eventSource"] == "ec2.amazonaws.com"
        assert record["userIdentity"]["accessKeyId"] == ATTACKER_KEY
        assert record["userIdentity"]["userName"] == "developer"
        assert record["sourceIPAddress"] == result.actor["sourceIPAddress"]
        assert record["userAgent"] == result.actor["userAgent"]
        params = record["requestParameters"]
        assert params["groupId"] == result.resources["group_id"]
        cidrs = _flat_values(params, "ipPermissions.items.ipRanges.items.cidrIp")
        assert cidrs == ["0.0.0.0/0"]
        assert params["ipPermissions"]["items"][0]["fromPort"] == 3389
        assert record["responseElements"]["_return"] is True
        assert record["readOnly"] is False
        assert record["managementEvent"] is True
        assert record["eventCategory"] == "Management"
        assert record["recipientAccountId"] == ACCOUNT
        for key in ("eventVersion", "eventTime", "awsRegion", "requestID", "eventID", "eventType"):
            assert record[key]
        delivered_keys = {k for k, r in delivered(bucket) if r["eventID"] == record["eventID"]}
        sqs = session().client("sqs")
        keys = set()
        for _ in range(10):
            for message in sqs.receive_message(
                QueueUrl=notifications, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                notification = json.loads(json.loads(message["Body"])["Message"])
                keys |= {unquote(r["s3"]["object"]["key"]) for r in notification["Records"]}
            if delivered_keys <= keys:
                break
        assert delivered_keys <= keys
    finally:
        simulate.revert(result)


def test_file_layout_matches_cloudtrail(bucket, lab_world):
    session().client("ec2").describe_vpcs()
    simulate.flush()
    keys = {key for key, _ in delivered(bucket)}
    assert keys
    for key in keys:
        parts = key.split("/")
        assert parts[:3] == ["AWSLogs", ACCOUNT, "CloudTrail"]
        region, year, month, day, name = parts[3:]
        assert name.startswith(f"{ACCOUNT}_CloudTrail_{region}_{year}{month}{day}T")
        assert name.endswith(".json.gz") and len(name.split("_")[-1]) == len("x" * 16 + ".json.gz")


SCENARIO_CHECKS = {
    "cloudtrail-stop": ("StopLogging", lambda r, res: r["requestParameters"]["name"]
                        == res["trail_arn"]),
    "cloudtrail-event-selectors": (
        "PutEventSelectors",
        lambda r, res: r["requestParameters"]["eventSelectors"][0]["includeManagementEvents"]
        is False,
    ),
    "key-from-abroad": ("ListBuckets", lambda r, res: r["userIdentity"]["accessKeyId"]
                        == ATTACKER_KEY),
    "s3-public": (
        "PutBucketPolicy",
        lambda r, res: r["requestParameters"]["bucketName"] == res["bucket"]
        and r["requestParameters"]["bucketPolicy"]["Statement"][0]["Principal"] == "*"
        and "policy" in r["requestParameters"],
    ),
    "s3-block-public-access-removed": (
        "DeleteBucketPublicAccessBlock",
        lambda r, res: r["requestParameters"]
        == {"bucketName": res["bucket"], "Host": r["requestParameters"]["Host"],
            "publicAccessBlock": ""},
    ),
    "access-key-for-other-user": (
        "CreateAccessKey",
        lambda r, res: r["requestParameters"] == {"userName": "break-glass"}
        and r["responseElements"]["accessKey"]["accessKeyId"] == res["access_key_id"]
        and "secretAccessKey" not in r["responseElements"]["accessKey"]
        and r["awsRegion"] == "us-east-1"
        and r["eventSource"] == "iam.amazonaws.com",
    ),
    "console-login-no-mfa": (
        "ConsoleLogin",
        lambda r, res: r["additionalEventData"]["MFAUsed"] == "No"
        and r["eventType"] == "AwsConsoleSignIn"
        and r["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/break-glass"
        and r["responseElements"] == {"ConsoleLogin": "Success"},
    ),
    "root-usage": (
        "ListBuckets",
        lambda r, res: r["userIdentity"]
        == {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
            "accountId": ACCOUNT, "accessKeyId": res["access_key_id"]},
    ),
    "guardduty-disabled": (
        "UpdateDetector",
        lambda r, res: r["requestParameters"] == {"detectorId": res["detector_id"], "enable": False}
        and r["eventSource"] == "guardduty.amazonaws.com",
    ),
    "config-stopped": (
        "StopConfigurationRecorder",
        lambda r, res: r["requestParameters"] == {"configurationRecorderName": "default"}
        and r["eventSource"] == "config.amazonaws.com",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIO_CHECKS))
def test_scenario_records(name, bucket, lab_world):
    event, check = SCENARIO_CHECKS[name]
    result = _run(name, bucket)
    try:
        assert event in result.events
        records = find(bucket, _by_event(result, event))
        assert records, f"{name}: no {event} record delivered"
        record = records[-1]
        assert record["sourceIPAddress"] == result.actor["sourceIPAddress"]
        assert "errorCode" not in record
        assert check(record, result.resources), json.dumps(record, indent=1)
    finally:
        if simulate.get(name).revert:
            simulate.revert(result)


def test_s3_public_acl_request_shape(bucket, lab_world):
    result = _run("s3-public", bucket)
    try:
        record = find(bucket, _by_event(result, "PutBucketAcl"))[-1]
        assert record["requestParameters"]["x-amz-acl"] == ["public-read"]
        assert record["requestParameters"]["acl"] == ""
        assert record["resources"][0]["ARN"] == f"arn:aws:s3:::{result.resources['bucket']}"
    finally:
        simulate.revert(result)


def test_cloudtrail_delete_is_delivered_then_nothing(bucket, lab_world):
    result = _run("cloudtrail-delete", bucket)
    try:
        marker = _tag_marker()
        assert find(bucket, _by_event(result, "DeleteTrail"))
        assert not find(bucket, _has_marker(marker), timeout=0)
    finally:
        simulate.revert(result)
    marker = _tag_marker()
    assert find(bucket, _has_marker(marker))


def _tag_marker() -> str:
    """Make one recognisable management call; returns its marker."""
    marker = f"m-{uuid.uuid4().hex[:12]}"
    session().client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [marker]}]
    )
    return marker


def _has_marker(marker):
    return lambda r: marker in json.dumps(r.get("requestParameters"))


def test_stop_and_start_logging(bucket, lab_world):
    result = _run("cloudtrail-stop", bucket)
    try:
        hidden = _tag_marker()
        assert find(bucket, _by_event(result, "StopLogging")), "StopLogging itself is delivered"
        assert not find(bucket, _has_marker(hidden), timeout=0)
    finally:
        simulate.revert(result)
    seen = _tag_marker()
    assert find(bucket, _has_marker(seen))
    assert find(bucket, lambda r: r["eventName"] == "StartLogging")
    assert not find(bucket, _has_marker(hidden), timeout=0), "a stopped trail's gap stays a gap"


def test_event_selectors_that_drop_management_events(bucket, lab_world):
    result = _run("cloudtrail-event-selectors", bucket)
    try:
        hidden = _tag_marker()
        assert find(bucket, _by_event(result, "PutEventSelectors"))
        assert not find(bucket, _has_marker(hidden), timeout=0)
    finally:
        simulate.revert(result)
    assert find(bucket, _has_marker(_tag_marker()))


def test_failed_call_has_error_code(bucket, lab_world):
    ec2 = session().client("ec2")
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.authorize_security_group_ingress(
            GroupId="sg-00000000000000000",
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
        )  # fmt: skip
    (record,) = find(
        bucket,
        lambda r: (
            r["eventName"] == "AuthorizeSecurityGroupIngress"
            and r["requestParameters"]["groupId"] == "sg-00000000000000000"
        ),
    )
    assert record["errorCode"] == "InvalidGroup.NotFound"
    assert "sg-00000000000000000" in record["errorMessage"]
    assert record["responseElements"] is None


def test_assumed_role_identity(bucket, lab_world):
    iam, sts = session().client("iam"), session().client("sts")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}  # fmt: skip
    role = iam.create_role(RoleName="lab-auditor", AssumeRolePolicyDocument=json.dumps(trust))
    try:
        creds = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="alice")["Credentials"]
        lab = actor_session(
            creds["AccessKeyId"],
            creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
            source_ip="52.94.236.248",
        )
        lab.client("ec2").describe_regions()
        (record,) = find(
            bucket,
            lambda r: (
                r["eventName"] == "DescribeRegions"
                and r["userIdentity"].get("accessKeyId") == creds["AccessKeyId"]
            ),
        )
        identity = record["userIdentity"]
        assert identity["type"] == "AssumedRole"
        assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/lab-auditor/alice"
        assert identity["principalId"].endswith(":alice")
        issuer = identity["sessionContext"]["sessionIssuer"]
        assert issuer == {"type": "Role", "principalId": role["Role"]["RoleId"],
                          "arn": role["Role"]["Arn"], "accountId": ACCOUNT,
                          "userName": "lab-auditor"}  # fmt: skip
        (assume,) = find(
            bucket,
            lambda r: (
                r["eventName"] == "AssumeRole"
                and r["requestParameters"].get("roleSessionName") == "alice"
            ),
        )
        assert "secretAccessKey" not in json.dumps(assume["responseElements"])
        assert assume["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]
    finally:
        iam.delete_role(RoleName="lab-auditor")


def test_other_regions_are_delivered_under_their_region(bucket, lab_world):
    marker = f"m-{uuid.uuid4().hex[:12]}"
    session().client("ec2", region_name="eu-west-1").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [marker]}]
    )
    simulate.flush()
    keys = [k for k, r in delivered(bucket) if marker in json.dumps(r)]
    assert len(keys) == 1
    assert "/CloudTrail/eu-west-1/" in keys[0]
    assert "_CloudTrail_eu-west-1_" in keys[0]


def test_data_events_are_not_logged_by_default(bucket, lab_world):
    s3 = session().client("s3")
    key = f"notes/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket="lab-data-123456789012", Key=key, Body=b"hello")
    s3.get_object(Bucket="lab-data-123456789012", Key=key)
    assert not find(bucket, lambda r: key in json.dumps(r), timeout=0)
    recent = _recent(lab_world)
    puts = [r for r in recent if r["eventName"] == "PutObject" and
            r["requestParameters"].get("key") == key]  # fmt: skip
    assert puts and puts[0]["managementEvent"] is False and puts[0]["eventCategory"] == "Data"


def _recent(lab_world):
    import requests

    response = requests.get(lab_world.url("aws") + "/_lab/cloudtrail/recent?limit=500", timeout=10)
    return response.json()["Records"]


def test_emit_rejects_bad_payloads(lab_world):
    import requests

    url = lab_world.url("aws") + "/_lab/cloudtrail/events"
    before = len(_recent(lab_world))
    assert requests.post(url, data=b"not json", timeout=5).status_code == 400
    assert requests.post(url, json={"Records": []}, timeout=5).status_code == 400
    response = requests.post(url, json={"Records": [{"eventName": "ConsoleLogin"}]}, timeout=5)
    assert response.status_code == 400 and "eventSource" in response.json()["error"]
    simulate.flush()
    assert len(_recent(lab_world)) == before


def test_reverting_a_rule_someone_closed_already_is_harmless(lab_world):
    """The automation (or a person) fixed it first: the scenario's undo has nothing left to do."""
    from helpers.aws import session

    result = simulate.run("sg-open-world")
    simulate.revert(result)  # closed
    simulate.revert(result)  # and again: no InvalidPermission.NotFound
    group = (
        session()
        .client("ec2")
        .describe_security_groups(GroupIds=[result.resources["group_id"]])["SecurityGroups"][0]
    )
    assert not [p for p in group["IpPermissions"] if p.get("FromPort") == result.resources["port"]
                and any(r["CidrIp"] == "0.0.0.0/0" for r in p.get("IpRanges", []))]  # fmt: skip
