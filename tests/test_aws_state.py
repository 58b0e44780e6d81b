"""The emulated AWS account keeps its state across restarts until `lab reset` (DESIGN section 4),
loses no acknowledged call or CloudTrail record to a SIGKILL, and its admin API needs the lab's
admin token (issue 13, finding 7).

One private AWS service (nothing else) for the module; the tests run in order and the last ones
reset it.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from labstack.world import World, WorldError

pytestmark = pytest.mark.stack

NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("aws-state") / ".lab", only=("aws",), free_ports=True)
    world.up()
    yield world
    world.down()


def _client(world: World, service: str, **kw):
    env = world.read_env()
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        **kw,
    )


def _pid(world: World) -> int:
    return json.loads((world.home / "run" / "aws.json").read_text())["pid"]


def _kill(world: World) -> None:
    pid = _pid(world)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _delivered(world: World) -> list[dict]:
    """Every CloudTrail record in the trail bucket, after the recorder delivered what it has."""
    env = world.read_env()
    _lab(world, "/_lab/cloudtrail/flush", method="POST")
    s3 = _client(world, "s3")
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env["CLOUDTRAIL_BUCKET"]):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=env["CLOUDTRAIL_BUCKET"], Key=item["Key"])["Body"]
            records += json.loads(gzip.decompress(body.read()))["Records"]
    return records


def _lab(world: World, path: str, method: str = "GET", token: str | None = None):
    env = world.read_env()
    request = urllib.request.Request(env["AWS_ENDPOINT_URL"] + path, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_down_then_up_keeps_the_account(world):
    ec2, iam = _client(world, "ec2"), _client(world, "iam")
    group = ec2.create_security_group(GroupName="kept-across-restarts", Description="test")
    sg = group["GroupId"]
    ec2.create_tags(Resources=[sg], Tags=[{"Key": "owner", "Value": "team-kept"}])
    user = iam.create_user(UserName="kept-user")["User"]
    key = iam.create_access_key(UserName="kept-user")["AccessKey"]["AccessKeyId"]
    pid = _pid(world)

    world.down()
    world.up()

    assert _pid(world) != pid
    ec2, iam = _client(world, "ec2"), _client(world, "iam")
    found = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
    assert found["Tags"] == [{"Key": "owner", "Value": "team-kept"}]
    assert iam.get_user(UserName="kept-user")["User"]["UserId"] == user["UserId"]
    keys = iam.list_access_keys(UserName="kept-user")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key]
    # moto's id generator was kept too: what is made now does not repeat what was made before.
    again = ec2.create_security_group(GroupName="made-after-restart", Description="test")
    assert again["GroupId"] != sg


def test_sigkill_mid_burst_loses_no_acknowledged_call_or_record(world):
    """Calls run in parallel while the process is killed: every call that was answered 2xx is
    in the account after the restart, and its CloudTrail record is delivered exactly once."""
    ec2 = _client(world, "ec2", config=NO_RETRIES)
    sg = ec2.create_security_group(GroupName="burst", Description="test")["GroupId"]
    acked: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def tag(i: int) -> None:
        value = f"burst-{i}"
        try:
            ec2.create_tags(Resources=[sg], Tags=[{"Key": f"k{i}", "Value": value}])
        except (BotoCoreError, ClientError, ResponseParserError):
            return  # not acknowledged (refused, or cut off by the kill): it may have happened
        with lock:
            acked.append(value)
            if len(acked) == 40:
                killed.set()

    def killer() -> None:
        killed.wait(60)
        _kill(world)

    thread = threading.Thread(target=killer)
    thread.start()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(tag, range(120)))
    thread.join()
    assert len(acked) >= 40

    world.up()

    only_sg = [{"Name": "resource-id", "Values": [sg]}]
    kept = {t["Value"] for t in _client(world, "ec2").describe_tags(Filters=only_sg)["Tags"]}
    assert set(acked) <= kept
    counts = Counter(
        item["value"]
        for record in _delivered(world)
        if record["eventName"] == "CreateTags"
        for item in record["requestParameters"]["tag"]["items"]
        if item["value"].startswith("burst-")
    )
    assert {value: counts[value] for value in acked} == dict.fromkeys(acked, 1)


def test_records_waiting_for_delivery_survive_a_kill(world):
    """With delivery every 5 minutes (as AWS), records wait in the recorder; a SIGKILL must not
    take them: they are delivered after the restart."""
    world.down()
    slow = World(world.home, only=("aws",), free_ports=True,
                 env={"LAB_CLOUDTRAIL_DELIVERY_SECONDS": "300"})  # fmt: skip
    slow.up()
    try:
        ec2 = _client(slow, "ec2")
        sg = ec2.create_security_group(GroupName="undelivered", Description="test")["GroupId"]
        ec2.create_tags(Resources=[sg], Tags=[{"Key": "marker", "Value": "undelivered-1"}])
        _kill(slow)
        slow.up()
        markers = [
            record
            for record in _delivered(slow)
            if record["eventName"] == "CreateTags"
            and "undelivered-1" in json.dumps(record["requestParameters"])
        ]
        assert len(markers) == 1
    finally:
        slow.down()
    world.up()


def test_admin_api_needs_the_admin_token(world):
    token = world.read_env()["LAB_AWS_ADMIN_TOKEN"]
    for path, method in (("/moto-api/reset", "POST"), ("/moto-api/data.json", "GET")):
        status, body = _lab(world, path, method)
        assert status == 401, path
        assert b"LAB_AWS_ADMIN_TOKEN" in body
        assert _lab(world, path, method, token="not-" + token)[0] == 401
    # Nothing was reset: the account is still there.
    sgs = _client(world, "ec2").describe_security_groups(GroupNames=["kept-across-restarts"])
    assert len(sgs["SecurityGroups"]) == 1
    status, body = _lab(world, "/moto-api/data.json", token=token)
    assert status == 200 and b"kept-across-restarts" in body


def test_an_authorised_reset_is_kept_too(world):
    token = world.read_env()["LAB_AWS_ADMIN_TOKEN"]
    assert _lab(world, "/moto-api/reset", "POST", token=token)[0] == 200
    world.down()
    world.up()
    with pytest.raises(ClientError):
        _client(world, "ec2").describe_security_groups(GroupNames=["kept-across-restarts"])


def test_lab_reset_starts_a_fresh_account(world):
    world.reset()
    world.up()
    ec2 = _client(world, "ec2")
    names = {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert "kept-across-restarts" not in names
    assert "default" in names  # the lab account was built again


def test_an_unreadable_state_file_is_named(world):
    world.down()
    state = world.state_dir("aws") / "account.sqlite"
    for leftover in state.parent.glob("account.sqlite-*"):
        leftover.unlink()
    state.write_bytes(b"not a database " * 100)
    with pytest.raises(WorldError) as failure:
        world.up(timeout=30)
    text = str(failure.value) + world.log_tail("aws", 40)
    assert str(state) in text and "lab reset" in text
    world.reset()
    world.up()
