"""Units of the AWS stand-in's persistence: which calls change state, the state lock, the store's
record rows and retries, and a moto backend pickled and put back (in-process moto)."""

from __future__ import annotations

import threading
import time

import boto3
import pytest
from moto import mock_aws

from labstack.aws import persistence
from labstack.aws.durable import classify, scope
from labstack.aws.persistence import ALL, StateError, StateLock, StateStore


@pytest.fixture(autouse=True)
def _aws_itself(monkeypatch):
    """In-process moto answers only calls to AWS's own endpoints: a lab world's
    ``AWS_ENDPOINT_URL`` (exported by the session's world in the full suite) must not send
    this module's clients there."""
    import os

    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)


SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/{region}/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def _environ(method="POST", service="ec2", region="us-east-1", query="", target=None, form=""):
    environ = {
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "HTTP_AUTHORIZATION": SIGNED.format(region=region, service=service),
        "CONTENT_TYPE": "application/x-www-form-urlencoded" if form else "application/json",
    }
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ, form.encode()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (dict(form="Action=DescribeSecurityGroups&Version=2016-11-15"), ("read", "ec2")),
        (dict(form="Action=AuthorizeSecurityGroupIngress"), ("write", "ec2")),
        (dict(service="sqs", target="AmazonSQS.ReceiveMessage"), ("unlocked", "sqs")),
        (dict(service="sqs", target="AmazonSQS.GetQueueUrl"), ("read", "sqs")),
        (dict(service="sqs", target="AmazonSQS.SendMessage"), ("write", "sqs")),
        (dict(service="sts", form="Action=GetSessionToken"), ("write", "sts")),
        (dict(service="kms", target="TrentService.DescribeKey"), ("write", "kms")),
        (dict(service="iam", query="Action=ListUsers"), ("read", "iam")),
        (dict(service="s3", method="GET"), ("read", "s3")),
        (dict(service="s3", method="PUT"), ("write", "s3")),
        (dict(service="s3", method="DELETE"), ("write", "s3")),
    ],
)
def test_which_calls_change_state(call, expected):
    assert classify(*_environ(**call)) == expected


def test_scope_of_signed_and_presigned_and_unsigned_requests():
    assert scope(_environ(service="iam", region="us-east-1")[0]) == ("us-east-1", "iam")
    presigned = {
        "QUERY_STRING": "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261201%2Feu-west-1%2Fs3"
        "%2Faws4_request&X-Amz-Signature=0"
    }
    assert scope(presigned) == ("eu-west-1", "s3")
    assert scope({}) == (None, None)


def test_an_exclusive_holder_waits_for_shared_ones_and_blocks_new_ones():
    lock = StateLock()
    order: list[str] = []
    entered = threading.Event()
    release = threading.Event()

    def reader():
        with lock.shared():
            entered.set()
            release.wait(5)
            order.append("shared done")

    def writer():
        with lock.exclusive():
            order.append("exclusive")

    first = threading.Thread(target=reader)
    first.start()
    entered.wait(5)
    second = threading.Thread(target=writer)
    second.start()
    time.sleep(0.05)
    assert order == []  # the writer waits for the shared holder
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["shared done", "exclusive"]


def test_record_rows_are_kept_until_dropped(tmp_path):
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    record = {"eventName": "CreateTags", "eventID": "e1"}
    store.wait(store.request(added=[(1, "arn:trail", "us-east-1", record)]))
    store.wait(store.request(added=[(2, "arn:trail", "eu-west-1", {"eventName": "X"})]))
    store.wait(store.request(dropped=[2]))
    store.stop()

    again = StateStore(tmp_path / "account.sqlite")
    restored = again.restore()
    assert restored.records == [(1, "arn:trail", "us-east-1", record)]
    assert restored.seq == 1
    assert not again.built


def test_a_failed_commit_is_retried_and_reported_meanwhile(tmp_path, monkeypatch):
    store = StateStore(tmp_path / "account.sqlite")
    real = store._commit
    failures = iter([OSError("disk full")])

    def flaky(batch):
        for exc in failures:
            raise exc
        real(batch)

    monkeypatch.setattr(store, "_commit", flaky)
    store.start()
    ticket = store.request(added=[(7, "arn:trail", "us-east-1", {"eventName": "A"})])
    assert store.wait(ticket, timeout=10)
    assert store.error is None and store.stats["commits"] == 1
    store.stop()
    assert StateStore(tmp_path / "account.sqlite").restore().records[0][0] == 7


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "account.sqlite"
    path.write_bytes(b"garbage" * 200)
    with pytest.raises(StateError, match="lab reset") as failure:
        StateStore(path)
    assert str(path) in str(failure.value)


@mock_aws
def test_a_backend_is_pickled_and_put_back_with_fresh_locks(tmp_path):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="kept")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="before")
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    store.wait(store.request([ALL]))
    store.stop()

    from moto.core.base_backend import BackendDict

    BackendDict.reset()
    assert sqs.list_queues().get("QueueUrls") is None
    restored = StateStore(tmp_path / "account.sqlite").restore()
    assert restored.units >= 1
    assert sqs.list_queues()["QueueUrls"] == [url]
    # The queue's condition was made anew: long polling and sending work on it.
    sqs.send_message(QueueUrl=url, MessageBody="after")
    bodies = set()
    for _ in range(3):
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            bodies.add(message["Body"])
    assert bodies == {"before", "after"}


class _Holder(persistence.BaseBackend):
    """A backend that points at another, as some of moto's do."""

    def __init__(self, peer):
        self.peer = peer


@mock_aws
def test_units_that_point_at_other_backends_keep_pointing_at_them():
    import pickle

    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends["123456789012"]["us-east-1"]
    keys = {id(ec2): ("ec2", "123456789012", "us-east-1")}
    dumped = persistence.dump_unit(_Holder(ec2), keys)
    assert dumped.refs == {("ec2", "123456789012", "us-east-1")}
    assert len(dumped.blob) < 1000  # the EC2 backend is a reference, not a copy of its megabyte
    assert pickle.loads(dumped.blob).peer is ec2


@mock_aws
def test_s3_contents_are_stored_once_by_content_and_come_back(tmp_path):
    import sqlite3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="kept")
    big = b"x" * 200_000
    for name in ("a.log", "b.log", "copy-of-a.log"):
        s3.put_object(Bucket="kept", Key=name, Body=big if name != "b.log" else b"other")
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    store.wait(store.request([ALL]))
    s3.put_object(Bucket="kept", Key="c.log", Body=b"third")
    store.wait(store.request(["s3"]))  # the bucket again: only the new content is added
    store.stop()

    db = sqlite3.connect(tmp_path / "account.sqlite")
    assert db.execute("SELECT count(*) FROM contents").fetchone()[0] == 3
    (unit,) = db.execute("SELECT length(blob) FROM units WHERE service = 's3'").fetchone()
    assert unit < len(big)  # the unit holds the listing, not the bytes

    from moto.core.base_backend import BackendDict

    BackendDict.reset()
    StateStore(tmp_path / "account.sqlite").restore()
    assert s3.get_object(Bucket="kept", Key="copy-of-a.log")["Body"].read() == big
    assert s3.get_object(Bucket="kept", Key="c.log")["Body"].read() == b"third"
    s3.delete_object(Bucket="kept", Key="b.log")
    again = StateStore(tmp_path / "account.sqlite")
    again.start()
    again.wait(again.request(["s3"]))
    again.stop()
    BackendDict.reset()
    StateStore(tmp_path / "account.sqlite").restore()  # a restore drops contents nothing holds
    assert db.execute("SELECT count(*) FROM contents").fetchone()[0] == 2


# -- the store behind a live endpoint (in-process moto server, Durable in front) ------------------


class _NoRecorder:
    running = False

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.ready.set()  # the account is built

    def barrier(self) -> None:
        pass


@pytest.fixture
def endpoint(tmp_path, monkeypatch):
    """An in-process moto server behind ``Durable`` with a store in ``tmp_path``; yields
    ``(url, store, restart)``; ``restart()`` forgets moto's memory and restores from disk, as a
    new process would."""
    from moto.core.base_backend import BackendDict
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from helpers.runtime.serve import Server
    from labstack.aws import durable as durable_module
    from labstack.aws.durable import Durable

    monkeypatch.setattr(durable_module, "_WAIT_SECONDS", 5.0)  # a failing test fails sooner
    with mock_aws():
        holder = {"store": StateStore(tmp_path / "account.sqlite")}
        holder["store"].start()
        durable = Durable(
            DomainDispatcherApplication(create_backend_app), holder["store"], _NoRecorder(), "tok"
        )
        server = Server(durable, request_handler=MotoRequestHandler, name="aws-test").start()

        def restart() -> StateStore:
            holder["store"].stop()
            BackendDict.reset()
            store = StateStore(tmp_path / "account.sqlite")
            store.restore()
            store.start()
            holder["store"] = durable.store = store
            return store

        try:
            yield server.url, holder, restart
        finally:
            server.stop()
            holder["store"].stop()


def _aws(url: str, service: str, region: str = "us-east-1", **kw):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
        **kw,
    )


def test_a_backend_a_read_made_is_kept_with_the_ids_it_answered(endpoint):
    """The first call in a region makes moto's backend there (EC2: a default VPC with random
    ids), a read included; what the read answered must still be true after a restart."""
    url, _holder, restart = endpoint
    before = _aws(url, "ec2", "eu-west-2").describe_vpcs()["Vpcs"]
    assert before
    restart()
    after = _aws(url, "ec2", "eu-west-2").describe_vpcs()["Vpcs"]
    assert [v["VpcId"] for v in after] == [v["VpcId"] for v in before]


def test_calls_signed_for_another_name_than_moto_gives_the_service_are_kept(endpoint):
    """SigV4 names some services otherwise than moto's backends do: CloudWatch signs as
    ``monitoring``, ELBv2 as ``elasticloadbalancing``, S3 Control as ``s3``. A write to a
    backend that is on disk already must be committed all the same."""
    from helpers.clients import _unprefix

    url, _holder, restart = endpoint
    cloudwatch, elbv2 = _aws(url, "cloudwatch"), _aws(url, "elbv2")
    s3control = _aws(url, "s3control")
    s3control.meta.events.register("before-sign.s3-control", _unprefix(url))
    vpc = _aws(url, "ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    alarm = dict(MetricName="m", Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1,
                 Threshold=1.0, ComparisonOperator="GreaterThanThreshold")  # fmt: skip
    cloudwatch.put_metric_alarm(AlarmName="first", **alarm)
    elbv2.create_target_group(Name="first", Protocol="HTTP", Port=80, VpcId=vpc)
    block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}  # fmt: skip
    s3control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=block)
    restart()  # each backend is on disk now; the next writes change kept units
    cloudwatch.put_metric_alarm(AlarmName="second", **alarm)
    elbv2.create_target_group(Name="second", Protocol="HTTP", Port=80, VpcId=vpc)
    s3control.delete_public_access_block(AccountId=ACCOUNT)
    restart()
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == ["first", "second"]
    groups = elbv2.describe_target_groups()["TargetGroups"]
    assert sorted(g["TargetGroupName"] for g in groups) == ["first", "second"]
    with pytest.raises(s3control.exceptions.ClientError, match="NoSuchPublicAccessBlock"):
        s3control.get_public_access_block(AccountId=ACCOUNT)


def test_a_write_commits_what_it_looked_up_but_not_the_iam_every_call_reads(endpoint):
    url, holder, _restart = endpoint
    ec2 = _aws(url, "ec2")
    for name in ("warm", "warmer"):  # moto makes IAM's other partitions at the second call
        ec2.create_security_group(GroupName=name, Description="every backend made and kept")
    before = holder["store"].stats["units_written"]
    ec2.create_security_group(GroupName="web", Description="d")
    assert holder["store"].stats["units_written"] - before == 1  # EC2 in us-east-1 alone
    before = holder["store"].stats["units_written"]
    _aws(url, "iam").create_user(UserName="alice")
    assert holder["store"].stats["units_written"] - before == 1  # IAM's own partition alone


def test_a_read_that_makes_a_kms_managed_key_keeps_it(endpoint):
    """KMS makes an AWS managed key (alias/aws/...) when one is first named, a DescribeKey
    included: its id must be the same after a restart."""
    url, _holder, restart = endpoint
    kms = _aws(url, "kms")
    kms.list_keys()  # the region's backend exists before the read that makes the key
    key = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    restart()
    assert _aws(url, "kms").describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"] == key


def test_kms_keys_are_kept_with_their_key_material(endpoint):
    """moto's KMS keys hold cryptography key objects (which pickle cannot take): a CreateKey
    must not stop every later commit, and the key signs and decrypts as before a restart."""
    url, holder, restart = endpoint
    kms = _aws(url, "kms")
    symmetric = kms.create_key(Description="data")["KeyMetadata"]["KeyId"]
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    blob = kms.encrypt(KeyId=symmetric, Plaintext=b"kept")["CiphertextBlob"]
    public = kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"]
    kms.tag_resource(KeyId=symmetric, Tags=[{"TagKey": "after", "TagValue": "the keys"}])
    assert holder["store"].error is None

    restart()
    kms = _aws(url, "kms")
    assert kms.list_resource_tags(KeyId=symmetric)["Tags"] == [
        {"TagKey": "after", "TagValue": "the keys"}
    ]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    assert kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"] == public
    signed = kms.sign(KeyId=signing["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    signature = signed["Signature"]
    assert kms.verify(
        KeyId=signing["KeyId"], Message=b"m", Signature=signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )["SignatureValid"]  # fmt: skip


def test_a_call_whose_commit_fails_is_not_answered_as_done(endpoint, monkeypatch):
    """While the state cannot be written (disk full...), a call that changed it must not be
    answered 2xx: it is not on disk. It is answered as a server error (it may have happened,
    as when the connection is cut), and the account answers again once commits succeed."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    url, holder, _restart = endpoint
    store = holder["store"]
    real = store._commit
    failing = threading.Event()
    failing.set()

    def broken(batch):
        if failing.is_set():
            raise OSError("disk full")
        real(batch)

    monkeypatch.setattr(store, "_commit", broken)
    ec2 = _aws(url, "ec2", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as refused:
        ec2.create_security_group(GroupName="not-on-disk", Description="test")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    assert store.error and "disk full" in store.error

    failing.clear()
    group = ec2.create_security_group(GroupName="on-disk", Description="test")
    assert group["GroupId"].startswith("sg-")
    assert store.error is None


def _crash_copy(store: StateStore, path):
    """What a SIGKILL now would leave on disk: a copy of the database as committed so far."""
    import sqlite3

    source = sqlite3.connect(store.path)
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    return path


def test_a_receive_moving_a_message_to_its_dead_letter_queue_is_never_half_committed(
    endpoint, monkeypatch, tmp_path
):
    """ReceiveMessage waits for messages without the state lock, but what it changes (here:
    moving a message to the dead-letter queue) must not be pickled half done: a crash after
    such a commit would lose a message SendMessage acknowledged."""
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import Queue

    url, holder, _restart = endpoint
    store = holder["store"]
    sqs = _aws(url, "sqs")
    dlq = sqs.create_queue(QueueName="moved-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    policy = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 1}
    source = sqs.create_queue(
        QueueName="moved-source",
        Attributes={"RedrivePolicy": __import__("json").dumps(policy), "VisibilityTimeout": "0"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=source, MessageBody="acknowledged")
    assert sqs.receive_message(QueueUrl=source)["Messages"]  # received once: DLQ next time

    entered, release = threading.Event(), threading.Event()
    add = Queue.add_message

    def slow_add(self, message):
        if self.name == "moved-dlq":
            entered.set()  # out of the source queue, not yet in the dead-letter queue
            release.wait(10)
        return add(self, message)

    monkeypatch.setattr(Queue, "add_message", slow_add)
    receiver = threading.Thread(target=lambda: sqs.receive_message(QueueUrl=source))
    receiver.start()
    assert entered.wait(10)
    store.wait(store.request(["sqs"]), timeout=2)  # another call's commit, meanwhile
    crashed = _crash_copy(store, tmp_path / "crashed.sqlite")
    release.set()
    receiver.join(10)

    BackendDict.reset()
    StateStore(crashed).restore()
    bodies = []
    for queue in (source, dlq):
        for message in sqs.receive_message(QueueUrl=queue).get("Messages", []):
            bodies.append(message["Body"])
    assert bodies == ["acknowledged"]


def test_what_an_s3_event_changes_through_eventbridge_is_kept(endpoint):
    """S3 sends the object's event to EventBridge, whose rule writes it to a log group: the
    PutObject's commit must hold the log group too (effects of effects)."""
    url, _holder, restart = endpoint
    s3, events, logs = _aws(url, "s3"), _aws(url, "events"), _aws(url, "logs")
    logs.create_log_group(logGroupName="/aws/events/uploads")
    group_arn = logs.describe_log_groups(logGroupNamePrefix="/aws/events/uploads")
    events.put_rule(Name="uploads", EventPattern='{"source": ["aws.s3"]}')
    events.put_targets(
        Rule="uploads",
        Targets=[{"Id": "log", "Arn": group_arn["logGroups"][0]["arn"].removesuffix(":*")}],
    )
    s3.create_bucket(Bucket="uploads-seen")
    s3.put_bucket_notification_configuration(
        Bucket="uploads-seen", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket="uploads-seen", Key="report.csv", Body=b"a,b")
    streams = logs.describe_log_streams(logGroupName="/aws/events/uploads")["logStreams"]
    assert streams  # the events' (a read: it commits nothing)

    restart()
    kept = _aws(url, "logs").filter_log_events(logGroupName="/aws/events/uploads")["events"]
    assert any("report.csv" in event["message"] for event in kept)


def test_creating_a_kept_bucket_again_keeps_its_objects(endpoint):
    """moto keeps which account owns each bucket name beside its backends (the global bucket
    namespace): after a restore, a CreateBucket of a kept bucket (a re-applied Terraform, an
    idempotent setup script) must not replace it with an empty one."""
    url, _holder, restart = endpoint
    s3 = _aws(url, "s3")
    s3.create_bucket(Bucket="trail-logs-kept")
    s3.put_object(Bucket="trail-logs-kept", Key="log.json.gz", Body=b"records")
    restart()
    s3 = _aws(url, "s3")
    try:
        s3.create_bucket(Bucket="trail-logs-kept")
    except s3.exceptions.ClientError as exc:  # AWS: BucketAlreadyOwnedByYou, or 200 in us-east-1
        assert "BucketAlready" in str(exc)
    assert s3.get_object(Bucket="trail-logs-kept", Key="log.json.gz")["Body"].read() == b"records"


#: Two different 128-byte blocks with the same MD5 (Wang and Yu, 2005): anyone can make such
#: pairs in seconds, so MD5 and size cannot name an object's content.
_MD5_TWIN_A = bytes.fromhex(
    "d131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f89"
    "55ad340609f4b30283e488832571415a085125e8f7cdc99fd91dbdf280373c5b"
    "d8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0"
    "e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70"
)
_MD5_TWIN_B = bytes.fromhex(
    "d131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f89"
    "55ad340609f4b30283e4888325f1415a085125e8f7cdc99fd91dbd7280373c5b"
    "d8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0"
    "e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70"
)


def test_objects_with_the_same_md5_keep_their_own_bytes(endpoint):
    import hashlib

    assert _MD5_TWIN_A != _MD5_TWIN_B
    assert hashlib.md5(_MD5_TWIN_A).digest() == hashlib.md5(_MD5_TWIN_B).digest()
    url, _holder, restart = endpoint
    s3 = _aws(url, "s3")
    s3.create_bucket(Bucket="twins")
    s3.put_object(Bucket="twins", Key="a", Body=_MD5_TWIN_A)
    s3.put_object(Bucket="twins", Key="b", Body=_MD5_TWIN_B)
    restart()
    s3 = _aws(url, "s3")
    assert s3.get_object(Bucket="twins", Key="a")["Body"].read() == _MD5_TWIN_A
    assert s3.get_object(Bucket="twins", Key="b")["Body"].read() == _MD5_TWIN_B


def test_versions_and_delete_markers_of_a_versioned_bucket_are_kept(endpoint):
    url, _holder, restart = endpoint
    s3 = _aws(url, "s3")
    s3.create_bucket(Bucket="versions-kept")
    s3.put_bucket_versioning(Bucket="versions-kept", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="versions-kept", Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket="versions-kept", Key="k", Body=b"two")["VersionId"]
    s3.delete_object(Bucket="versions-kept", Key="k")
    restart()
    s3 = _aws(url, "s3")
    listed = s3.list_object_versions(Bucket="versions-kept")
    assert {v["VersionId"] for v in listed["Versions"]} == {first, second}
    assert len(listed["DeleteMarkers"]) == 1
    read = s3.get_object(Bucket="versions-kept", Key="k", VersionId=first)["Body"].read()
    assert read == b"one"
    read = s3.get_object(Bucket="versions-kept", Key="k", VersionId=second)["Body"].read()
    assert read == b"two"


@mock_aws
def test_a_multipart_upload_completed_between_commits_is_kept(tmp_path):
    """Completing a multipart upload closes its parts' buffers; when no commit ran since the
    parts were uploaded (calls made while the account is built are committed whole, at the
    end), pickling the parts must not fail the commit."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="multipart-kept")
    upload = s3.create_multipart_upload(Bucket="multipart-kept", Key="big")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"tail")):
        etag = s3.upload_part(
            Bucket="multipart-kept", Key="big", UploadId=upload, PartNumber=number, Body=body
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket="multipart-kept", Key="big", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    assert store.wait(store.request([ALL]), timeout=10, through_failures=False), store.error
    store.stop()

    from moto.core.base_backend import BackendDict

    BackendDict.reset()
    StateStore(tmp_path / "account.sqlite").restore()
    body = s3.get_object(Bucket="multipart-kept", Key="big")["Body"].read()
    assert body == b"a" * 5 * 1024 * 1024 + b"tail"


def test_a_replica_made_in_another_region_is_kept(endpoint):
    """ReplicateKey and ReplicateSecretToRegions are signed for the primary's region but make
    the replica in another: the commit must hold that region's backend too."""
    url, _holder, restart = endpoint
    _aws(url, "kms", "eu-west-1").list_keys()  # those regions' backends already on disk
    _aws(url, "secretsmanager", "eu-west-1").list_secrets()
    kms = _aws(url, "kms")
    key = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")
    secrets = _aws(url, "secretsmanager")
    secrets.create_secret(Name="replicated", SecretString="s3cr3t")
    secrets.replicate_secret_to_regions(SecretId="replicated", AddReplicaRegions=[
        {"Region": "eu-west-1"}
    ])  # fmt: skip
    restart()
    replica = _aws(url, "kms", "eu-west-1").describe_key(KeyId=key)["KeyMetadata"]
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    copy = _aws(url, "secretsmanager", "eu-west-1").get_secret_value(SecretId="replicated")
    assert copy["SecretString"] == "s3cr3t"


def test_an_http_subscriber_that_calls_back_while_a_commit_waits_does_not_deadlock(endpoint):
    """moto delivers to an SNS HTTP subscriber inside Publish, which holds the state lock: a
    subscriber that calls the account back (as an automation server does) while a commit
    waits for the lock needs the lock itself. Delivery must not wait inside the call."""
    import http.server
    import json

    from botocore.config import Config

    url, holder, _restart = endpoint
    store = holder["store"]
    quick = Config(retries={"total_max_attempts": 1}, read_timeout=5, connect_timeout=5)
    outcome: dict = {}

    class Subscriber(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("Type") == "Notification":
                store.request(["sqs"])  # a commit is asked for meanwhile...
                for _ in range(200):
                    if store.lock._waiting:  # ...and waits for the lock
                        break
                    time.sleep(0.01)
                try:
                    _aws(url, "sqs", config=quick).create_queue(QueueName="called-back")
                    outcome["called back"] = True
                except Exception as exc:
                    outcome["called back"] = exc
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    subscriber = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Subscriber)
    threading.Thread(target=subscriber.serve_forever, daemon=True).start()
    try:
        sns = _aws(url, "sns", config=quick)
        topic = sns.create_topic(Name="alerts-http")["TopicArn"]
        sns.subscribe(
            TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{subscriber.server_port}/"
        )
        sns.publish(TopicArn=topic, Message="incident")
        for _ in range(1000):
            if "called back" in outcome:
                break
            time.sleep(0.01)
        assert outcome.get("called back") is True
    finally:
        subscriber.shutdown()


def test_a_call_marked_internal_after_the_build_is_kept_too(endpoint):
    """The build's own calls carry X-Lab-Internal and are committed whole at its end; any
    client can send that header, and once the account is built such a call must still be
    locked and committed like any other."""
    url, _holder, restart = endpoint
    _aws(url, "ec2").create_security_group(GroupName="made-before", Description="test")
    ec2 = _aws(url, "ec2")

    def internal(request, **kw):
        request.headers["X-Lab-Internal"] = "1"

    ec2.meta.events.register("before-sign.ec2.*", internal)
    group = ec2.create_security_group(GroupName="made-internal", Description="test")["GroupId"]
    restart()
    found = _aws(url, "ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert [g["GroupName"] for g in found] == ["made-internal"]


def _zip(source: str) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handler.py", source)
    return out.getvalue()


def test_lambda_functions_are_kept_and_do_not_stop_commits(endpoint):
    """moto's Lambda backend indexes functions in a WeakValueDictionary (which pickle cannot
    take): once Lambda is used, no commit may fail for it (an S3 write commits Lambda too)."""
    import json

    url, holder, restart = endpoint
    iam = _aws(url, "iam")
    role = iam.create_role(
        RoleName="lambda-kept",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    _aws(url, "lambda").create_function(
        FunctionName="responder",
        Runtime="python3.11",
        Role=role,
        Handler="handler.main",
        Code={"ZipFile": _zip("def main(event, context):\n    return event\n")},
    )
    s3 = _aws(url, "s3")
    s3.create_bucket(Bucket="after-lambda")
    s3.put_object(Bucket="after-lambda", Key="k", Body=b"v")
    assert holder["store"].error is None

    restart()
    function = _aws(url, "lambda").get_function(FunctionName="responder")["Configuration"]
    assert function["Handler"] == "handler.main"
    assert _aws(url, "s3").get_object(Bucket="after-lambda", Key="k")["Body"].read() == b"v"


def test_when_an_access_key_was_last_used_is_kept(endpoint):
    """moto notes on IAM when each access key was last used, on every call of any service
    (reads included, which commit no IAM): what GetAccessKeyLastUsed answered before a restart
    must still hold after it (stale-key detections and playbooks read it)."""
    url, _holder, restart = endpoint
    iam = _aws(url, "iam")
    iam.create_user(UserName="key-user")
    key = iam.create_access_key(UserName="key-user")["AccessKey"]
    ec2 = boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    ec2.describe_security_groups()
    before = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (before["ServiceName"], before["Region"]) == ("ec2", "eu-west-1")
    restart()
    after = _aws(url, "iam").get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert after["AccessKeyLastUsed"] == before


def test_the_ebs_default_key_an_encrypted_volume_makes_is_kept(endpoint):
    """An encrypted volume without a key makes KMS's aws/ebs key: the CreateVolume's commit
    must hold KMS too, or the volume names a key that is gone after a restart."""
    url, _holder, restart = endpoint
    _aws(url, "kms").list_keys()  # the region's KMS already on disk
    volume = _aws(url, "ec2").create_volume(Size=1, AvailabilityZone="us-east-1a", Encrypted=True)
    restart()
    key = _aws(url, "kms").describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
    assert key == volume["KmsKeyId"]


# -- moto's static data (default AMIs, AWS managed policies) -------------------------------------


def _unit_size(store: StateStore, service: str, region: str) -> int:
    row = store._db.execute(
        "SELECT length(blob) FROM units WHERE service = ? AND region = ?", (service, region)
    ).fetchone()
    return row[0]


def test_an_ec2_write_does_not_pickle_the_default_amis_again(endpoint):
    """moto makes a megabyte of default AMIs (with their snapshots) for each EC2 backend, which
    the lab seldom changes: a write stores what the lab changed, and a restart brings the AMIs
    back, each still pointing at its own snapshot."""
    from moto.ec2.models import ec2_backends

    url, holder, restart = endpoint
    ec2 = _aws(url, "ec2")
    ec2.create_security_group(GroupName="first", Description="test")
    ec2.create_security_group(GroupName="second", Description="test")
    assert _unit_size(holder["store"], "ec2", "us-east-1") < 300_000
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    assert len(images) > 100

    restart()
    ec2 = _aws(url, "ec2")
    assert ec2.describe_images(Owners=["amazon"])["Images"] == images
    backend = ec2_backends["123456789012"]["us-east-1"]
    ami = backend.amis[images[0]["ImageId"]]
    assert backend.snapshots[ami.ebs_snapshot.id] is ami.ebs_snapshot
    assert ami.ec2_backend is backend
    ec2.create_security_group(GroupName="after", Description="test")  # commits after a restore
    restart()
    groups = _aws(url, "ec2").describe_security_groups()["SecurityGroups"]
    assert {"first", "second", "after"} <= {g["GroupName"] for g in groups}


def test_a_default_ami_the_lab_changed_is_kept_changed(endpoint):
    """A launch permission added to a default AMI changes moto's static data: it must be kept,
    whether the change came before the unit's first write or after."""
    url, _holder, restart = endpoint
    ec2 = _aws(url, "ec2")
    first, second = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"][:2]]
    ec2.modify_image_attribute(
        ImageId=first, LaunchPermission={"Add": [{"UserId": "111122223333"}]}
    )
    ec2.modify_image_attribute(
        ImageId=second, LaunchPermission={"Add": [{"UserId": "444455556666"}]}
    )
    restart()
    ec2 = _aws(url, "ec2")
    for image, user, not_user in (
        (first, "111122223333", "444455556666"),
        (second, "444455556666", "111122223333"),
    ):
        kept = ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")
        assert {"UserId": user} in kept["LaunchPermissions"]
        assert {"UserId": not_user} not in kept["LaunchPermissions"]


def test_an_attached_aws_managed_policy_is_kept_and_stays_one_object(endpoint, monkeypatch):
    """IAM's AWS managed policies are moto's static data; attaching one changes it (its
    attachment count), and a user's attached policy is the very object of the policy map."""
    from moto.iam.models import iam_backends

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    url, holder, restart = endpoint
    iam = _aws(url, "iam")
    iam.create_user(UserName="reader")
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.attach_user_policy(UserName="reader", PolicyArn=arn)
    iam.create_user(UserName="other")  # a write after the change
    assert _unit_size(holder["store"], "iam", "aws") < 1_000_000

    restart()
    iam = _aws(url, "iam")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    attached = iam.list_attached_user_policies(UserName="reader")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]
    backend = iam_backends["123456789012"]["aws"]
    assert backend.users["reader"].managed_policies[arn] is backend.managed_policies[arn]
    iam.detach_user_policy(UserName="reader", PolicyArn=arn)
    restart()
    assert _aws(url, "iam").get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0


def test_static_data_whose_commit_failed_is_written_by_the_retry(endpoint, monkeypatch):
    """The static data is stored once, with the first write of its unit: when that commit fails,
    the retry must store it, or the unit on disk names objects that are nowhere."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    url, holder, restart = endpoint
    store = holder["store"]

    class Failing:
        def __init__(self, db):
            self.db, self.failures = db, 1

        def executemany(self, sql, rows):
            if "INTO units" in sql and self.failures:
                self.failures -= 1
                raise sqlite3.OperationalError("disk I/O error")
            return self.db.executemany(sql, rows)

        def __getattr__(self, name):
            return getattr(self.db, name)

    import sqlite3

    store._db = Failing(store._db)
    ec2 = _aws(url, "ec2", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError):  # not on disk yet: answered as a server error
        ec2.create_security_group(GroupName="retried", Description="test")
    assert store.wait(store.request(), timeout=10)  # the store's own retry
    store._db = store._db.db
    restart()
    groups = _aws(url, "ec2").describe_security_groups()["SecurityGroups"]
    assert "retried" in {g["GroupName"] for g in groups}
    assert _aws(url, "ec2").describe_images(Owners=["amazon"])["Images"]


def test_a_unit_whose_static_data_is_missing_is_not_restored_half(tmp_path):
    import sqlite3

    with mock_aws():
        boto3.client("ec2", region_name="us-east-1").describe_vpcs()
        store = StateStore(tmp_path / "account.sqlite")
        store.start()
        store.wait(store.request([ALL]))
        store.stop()
    sqlite3.connect(tmp_path / "account.sqlite", isolation_level=None).execute(
        "DELETE FROM statics"
    )
    with mock_aws(), pytest.raises(StateError, match="lab reset"):
        StateStore(tmp_path / "account.sqlite").restore()


def _uses(value):  # a function some static object holds
    return value


@mock_aws
def test_static_objects_that_hold_functions_and_classes_come_back(tmp_path):
    """pickle writes functions and classes by name: static data holding one (moto's models
    hold callbacks and types here and there) keeps holding that very function or class."""
    from moto.core.base_backend import BackendDict
    from moto.ec2.models import ec2_backends

    ec2 = boto3.client("ec2", region_name="us-east-1")
    first, second = [i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"][:2]]
    amis = ec2_backends["123456789012"]["us-east-1"].amis
    amis[first].lab_check, amis[second].lab_kind = _uses, StateLock
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    assert store.wait(store.request([ALL]), timeout=10, through_failures=False), store.error
    store.stop()

    BackendDict.reset()
    StateStore(tmp_path / "account.sqlite").restore()
    amis = ec2_backends["123456789012"]["us-east-1"].amis
    assert (amis[first].lab_check, amis[second].lab_kind) == (_uses, StateLock)


# -- a unit that cannot be pickled (a moto object holding what pickle cannot take) ------------

ACCOUNT = "123456789012"


def _unpicklable():
    return (n for n in range(3))  # a generator: pickle cannot take one


def _topics(sns) -> set[str]:
    return {t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]}


def test_a_unit_that_cannot_be_pickled_does_not_stop_the_others(endpoint):
    """One SNS topic holding a generator must not brick the account: a write to SNS in that
    region is refused (503, naming the unit and why), writes elsewhere are answered and
    survive a restart, and SNS comes back as last committed. An S3 write, which may reach SNS
    (``EFFECTS``), is answered too: only the call's own units decide."""
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from moto.sns.models import sns_backends

    url, holder, restart = endpoint
    once = Config(retries={"total_max_attempts": 1})
    sns, sqs, s3 = (_aws(url, name, config=once) for name in ("sns", "sqs", "s3"))
    arn = sns.create_topic(Name="kept")["TopicArn"]
    sns_backends[ACCOUNT]["us-east-1"].topics[arn].lab_cursor = _unpicklable()

    with pytest.raises(ClientError) as refused:
        sns.create_topic(Name="refused")
    answer = refused.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert f"sns {ACCOUNT} us-east-1" in answer["Error"]["Message"]
    assert "generator" in answer["Error"]["Message"]
    assert "lab_cursor" in answer["Error"]["Message"]  # where in the unit
    queue = sqs.create_queue(QueueName="healthy")["QueueUrl"]
    s3.create_bucket(Bucket="healthy-bucket")
    s3.put_object(Bucket="healthy-bucket", Key="k", Body=b"v")
    assert _aws(url, "sns", "eu-west-1", config=once).create_topic(Name="elsewhere")
    store = holder["store"]
    assert store.error is None
    assert list(store.broken) == [("sns", ACCOUNT, "us-east-1")]

    restart()
    assert queue in _aws(url, "sqs").list_queues()["QueueUrls"]
    assert _aws(url, "s3").get_object(Bucket="healthy-bucket", Key="k")["Body"].read() == b"v"
    assert _topics(_aws(url, "sns")) == {"kept"}  # its last good copy
    assert _topics(_aws(url, "sns", "eu-west-1")) == {"elsewhere"}


def test_a_broken_unit_is_written_again_once_what_it_held_is_gone(endpoint):
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from moto.sns.models import sns_backends

    url, holder, restart = endpoint
    sns = _aws(url, "sns", config=Config(retries={"total_max_attempts": 1}))
    arn = sns.create_topic(Name="kept")["TopicArn"]
    topic = sns_backends[ACCOUNT]["us-east-1"].topics[arn]
    topic.lab_cursor = _unpicklable()
    with pytest.raises(ClientError):
        sns.create_topic(Name="refused")
    assert holder["store"].broken

    del topic.lab_cursor
    sns.create_topic(Name="after")
    assert holder["store"].broken == {}
    restart()
    # The refused call had run (a 503 says it may have): it is kept with the next commit.
    assert _topics(_aws(url, "sns")) == {"kept", "refused", "after"}


@mock_aws
def test_a_broken_unit_keeps_its_last_good_copy_and_is_reported_once(tmp_path, caplog):
    """A commit of every unit (a reset, a seed) too writes the others and keeps the broken
    unit's last good copy; the unit is logged once, not at every commit, and the health check
    stays ready while naming it."""
    import types

    from moto.core.base_backend import BackendDict
    from moto.sns.models import sns_backends

    from labstack.aws.__main__ import _health

    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    arn = sns.create_topic(Name="kept")["TopicArn"]
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    assert store.wait(store.request([ALL]), timeout=10, through_failures=False), store.error
    sns_backends[ACCOUNT]["us-east-1"].topics[arn].lab_cursor = _unpicklable()
    sns.create_topic(Name="later")
    url = sqs.create_queue(QueueName="written")["QueueUrl"]
    for services in ([ALL], ["sns"], ["sqs"], ["s3"], ["sns@us-east-1"]):
        assert store.wait(store.request(services), timeout=10, through_failures=False)
    assert store.error is None
    unit = ("sns", ACCOUNT, "us-east-1")
    assert list(store.unsaved(["sns@us-east-1"])) == [unit]
    assert store.unsaved(["sqs@us-east-1"]) == store.unsaved(["s3"]) == {}
    assert store.unsaved([ALL]) == store.broken
    logged = [r for r in caplog.records if f"sns {ACCOUNT} us-east-1" in r.getMessage()]
    assert len(logged) == 1 and "generator" in logged[0].getMessage()
    ready = threading.Event()
    ready.set()
    health = _health(types.SimpleNamespace(ready=ready, account_id=ACCOUNT), store)
    assert health["ready"] is True
    assert list(health["state"]["broken"]) == [f"sns {ACCOUNT} us-east-1"]
    store.stop()

    BackendDict.reset()
    StateStore(tmp_path / "account.sqlite").restore()
    assert _topics(sns) == {"kept"}
    assert sqs.list_queues()["QueueUrls"] == [url]


@mock_aws
def test_a_record_delivered_into_a_broken_unit_keeps_its_row(tmp_path):
    """A delivered CloudTrail record's row goes in the commit that holds its log file: while
    the bucket's unit cannot be written, the row stays (a restart delivers it again)."""
    import sqlite3

    from moto.s3.models import s3_backends

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="trail-logs")
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    assert store.wait(store.request([ALL]), timeout=10, through_failures=False), store.error
    bucket = s3_backends[ACCOUNT]["aws"].buckets["trail-logs"]
    bucket.lab_cursor = _unpicklable()
    assert store.wait(store.request(added=[(1, "arn:trail", "us-east-1", {"eventName": "X"})]))
    assert store.wait(store.request(["s3"], dropped=[1]))
    db = sqlite3.connect(tmp_path / "account.sqlite")
    rows = "SELECT count(*) FROM records"
    assert db.execute(rows).fetchone()[0] == 1

    del bucket.lab_cursor
    assert store.wait(store.request(["sqs"]))  # covers no S3: the unit is not tried
    assert db.execute(rows).fetchone()[0] == 1
    assert store.wait(store.request(["s3"]))
    assert db.execute(rows).fetchone()[0] == 0
    assert store.broken == {}
    store.stop()


@mock_aws
def test_a_broken_unit_with_static_data_keeps_it_through_a_commit_of_every_unit(tmp_path):
    """EC2 keeps its default AMIs as static data beside the unit: a commit of every unit that
    cannot write EC2 must keep both, or the restore finds a unit without its static data."""
    from moto.core.base_backend import BackendDict
    from moto.ec2.models import ec2_backends

    ec2 = boto3.client("ec2", region_name="us-east-1")
    group = ec2.create_security_group(GroupName="kept", Description="test")["GroupId"]
    store = StateStore(tmp_path / "account.sqlite")
    store.start()
    assert store.wait(store.request([ALL]), timeout=10, through_failures=False), store.error
    ec2_backends[ACCOUNT]["us-east-1"].lab_cursor = _unpicklable()
    ec2.create_security_group(GroupName="later", Description="test")
    assert store.wait(store.request([ALL]), timeout=10, through_failures=False), store.error
    assert list(store.broken) == [("ec2", ACCOUNT, "us-east-1")]
    store.stop()

    BackendDict.reset()
    StateStore(tmp_path / "account.sqlite").restore()
    names = {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert "kept" in names and "later" not in names
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert ec2.describe_images(Owners=["amazon"])["Images"]
