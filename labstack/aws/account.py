"""The lab account: its definition (``account.yaml``) and how `lab up` builds it.

The account is built through the AWS APIs with boto3, like Terraform builds the real one, marked
internal so the recorder leaves these set-up calls out of CloudTrail. Access key ids are then set
to the definition's documentation values, so every world has the same keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import boto3
import yaml
from botocore.config import Config

INTERNAL_HEADER = "X-Lab-Internal"
DEFINITION = Path(__file__).with_name("account.yaml")


@dataclass(frozen=True)
class AccessKey:
    id: str
    secret: str


@dataclass(frozen=True)
class Trail:
    name: str
    bucket: str
    prefix: str
    multi_region: bool
    topic: str
    queue: str
    dead_letter_queue: str
    max_receive_count: int
    visibility_timeout: int


@dataclass(frozen=True)
class Alerts:
    """The SNS alert topic (Splunk's aws_sns_alert action) and the automation's queue on it."""

    topic: str
    queue: str
    dead_letter_queue: str
    max_receive_count: int


@dataclass(frozen=True)
class Account:
    account_id: str
    region: str
    root_access_key: AccessKey
    trail: Trail
    users: list[dict]
    raw: dict = field(repr=False)
    alerts: Alerts | None = None
    default_user: str = "student-admin"

    def access_key_of(self, user: str) -> AccessKey:
        for spec in self.users:
            if spec["name"] == user and spec.get("access_key"):
                return AccessKey(**spec["access_key"])
        raise KeyError(f"user {user!r} has no access key in {DEFINITION.name}")


@lru_cache(maxsize=1)
def load_account(path: Path = DEFINITION) -> Account:
    raw = yaml.safe_load(path.read_text())
    return Account(
        account_id=str(raw["account_id"]),
        region=raw["region"],
        root_access_key=AccessKey(**raw["root_access_key"]),
        trail=Trail(**raw["trail"]),
        users=raw["users"],
        raw=raw,
        alerts=Alerts(**raw["alerts"]) if raw.get("alerts") else None,
    )


def _tags(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict]:
    return [{key: k, value: v} for k, v in tags.items()]


class Builder:
    """Applies the definition to an endpoint through boto3; every call is marked internal."""

    def __init__(self, endpoint_url: str, account: Account):
        self.account = account
        self.session = boto3.Session(
            aws_access_key_id=account.root_access_key.id,
            aws_secret_access_key=account.root_access_key.secret,
            region_name=account.region,
        )
        self.endpoint_url = endpoint_url
        self.config = Config(retries={"max_attempts": 1})

    def client(self, name: str):
        client = self.session.client(name, endpoint_url=self.endpoint_url, config=self.config)
        client.meta.events.register("before-sign.*.*", _mark_internal)
        return client

    def exists(self) -> bool:
        trails = self.client("cloudtrail").describe_trails()["trailList"]
        return any(t["Name"] == self.account.trail.name for t in trails)

    def build(self) -> None:
        if self.exists():
            return
        raw = self.account.raw
        self._iam(raw)
        self._trail_pipeline()
        self._network(raw)
        for bucket in raw.get("buckets", []):
            self._private_bucket(bucket["name"], bucket.get("tags", {}))
        if raw.get("guardduty"):
            self.client("guardduty").create_detector(Enable=True)
        if raw.get("config_recorder"):
            self._config(raw["config_recorder"])
        if self.account.alerts is not None:  # last: the ids made before it stay as they were
            self._alert_pipeline(self.account.alerts)

    # -- identities ----------------------------------------------------------------------------
    def _iam(self, raw: dict) -> None:
        iam = self.client("iam")
        policy_arn = iam.create_policy(
            PolicyName="automation-remediation",
            PolicyDocument=json.dumps(raw["automation_policy"]),
        )["Policy"]["Arn"]
        for user in raw["users"]:
            iam.create_user(UserName=user["name"], Tags=_tags(user.get("tags", {})))
            _set_user_id(self.account.account_id, user["name"])
            for arn in user.get("managed_policies", []):
                iam.attach_user_policy(UserName=user["name"], PolicyArn=arn)
            if user.get("inline_policy"):
                iam.attach_user_policy(UserName=user["name"], PolicyArn=policy_arn)
            if user.get("access_key"):
                created = iam.create_access_key(UserName=user["name"])["AccessKey"]
                _set_access_key(
                    self.account.account_id,
                    user["name"],
                    created["AccessKeyId"],
                    AccessKey(**user["access_key"]),
                )

    # -- CloudTrail -> S3 -> SNS -> SQS --------------------------------------------------------
    def _trail_pipeline(self) -> None:
        trail, acct = self.account.trail, self.account.account_id
        s3, sqs = self.client("s3"), self.client("sqs")
        s3.create_bucket(Bucket=trail.bucket)
        s3.put_bucket_policy(
            Bucket=trail.bucket, Policy=json.dumps(_trail_bucket_policy(trail, acct))
        )
        s3.put_public_access_block(
            Bucket=trail.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        queue_url = self._queue_with_dlq(
            trail.queue,
            trail.dead_letter_queue,
            trail.max_receive_count,
            VisibilityTimeout=str(trail.visibility_timeout),
        )
        topic_arn = self._topic_to_queue(trail.topic, trail.queue, queue_url)
        s3.put_bucket_notification_configuration(
            Bucket=trail.bucket,
            NotificationConfiguration={
                "TopicConfigurations": [{"TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        # The test event S3 sends when notifications are configured is not a log file.
        sqs.purge_queue(QueueUrl=queue_url)
        cloudtrail = self.client("cloudtrail")
        options = {"S3KeyPrefix": trail.prefix} if trail.prefix else {}
        cloudtrail.create_trail(
            Name=trail.name,
            S3BucketName=trail.bucket,
            IsMultiRegionTrail=trail.multi_region,
            IncludeGlobalServiceEvents=True,
            **options,
        )
        cloudtrail.start_logging(Name=trail.name)

    def _queue_with_dlq(self, name: str, dlq: str, max_receive: int, **attributes) -> str:
        """A queue whose poison messages move to ``dlq`` after ``max_receive`` receives."""
        sqs = self.client("sqs")
        dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}
        attributes["RedrivePolicy"] = json.dumps(redrive)
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def _topic_to_queue(self, topic: str, queue: str, queue_url: str) -> str:
        """Create ``topic``, subscribe the queue to it, let SNS send to it; the topic's ARN."""
        acct, region = self.account.account_id, self.account.region
        sns = self.client("sns")
        queue_arn = f"arn:aws:sqs:{region}:{acct}:{queue}"
        topic_arn = sns.create_topic(Name=topic)["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.client("sqs").set_queue_attributes(
            QueueUrl=queue_url,
            Attributes={"Policy": json.dumps(_queue_policy(queue_arn, topic_arn))},
        )
        return topic_arn

    def _alert_pipeline(self, alerts: Alerts) -> None:
        """Splunk's SNS alert action -> the alert topic -> the automation's queue (+ its DLQ)."""
        queue_url = self._queue_with_dlq(
            alerts.queue, alerts.dead_letter_queue, alerts.max_receive_count
        )
        self._topic_to_queue(alerts.topic, alerts.queue, queue_url)

    # -- network and compute -------------------------------------------------------------------
    def _network(self, raw: dict) -> None:
        ec2 = self.client("ec2")
        net = raw["network"]
        vpc = ec2.create_vpc(
            CidrBlock=net["vpc_cidr"],
            TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags({"Name": "lab-vpc"})}],
        )["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=net["subnet_cidr"])["Subnet"]["SubnetId"]
        groups = {}
        for sg in raw["security_groups"]:
            group_id = ec2.create_security_group(
                GroupName=sg["name"],
                Description=sg["description"],
                VpcId=vpc,
                TagSpecifications=[
                    {
                        "ResourceType": "security-group",
                        "Tags": _tags({"Name": sg["name"], **sg.get("tags", {})}),
                    }
                ],
            )["GroupId"]
            groups[sg["name"]] = group_id
            for rule in sg.get("ingress", []):
                ec2.authorize_security_group_ingress(
                    GroupId=group_id,
                    IpPermissions=[
                        {
                            "IpProtocol": "tcp",
                            "FromPort": rule["port"],
                            "ToPort": rule["port"],
                            "IpRanges": [{"CidrIp": rule["cidr"], "Description": "office"}],
                        }
                    ],
                )
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        for instance in raw["instances"]:
            ec2.run_instances(
                ImageId=image,
                InstanceType="t3.micro",
                MinCount=1,
                MaxCount=1,
                SubnetId=subnet,
                SecurityGroupIds=[groups[instance["security_group"]]],
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": _tags({"Name": instance["name"], **instance.get("tags", {})}),
                    }
                ],
            )

    def _private_bucket(self, name: str, tags: dict[str, str]) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(tags)})

    def _config(self, spec: dict) -> None:
        acct = self.account.account_id
        self.client("s3").create_bucket(Bucket=spec["bucket"])
        config = self.client("config")
        config.put_configuration_recorder(
            ConfigurationRecorder={
                "name": spec["name"],
                "roleARN": f"arn:aws:iam::{acct}:role/aws-service-role/config.amazonaws.com/"
                "AWSServiceRoleForConfig",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
            }
        )
        config.put_delivery_channel(
            DeliveryChannel={"name": spec["name"], "s3BucketName": spec["bucket"]}
        )
        config.start_configuration_recorder(ConfigurationRecorderName=spec["name"])


def _mark_internal(request, **_):
    request.headers[INTERNAL_HEADER] = "bootstrap"


def _set_user_id(account_id: str, user: str) -> None:
    """A stable, AWS-shaped unique id (``AIDA`` + 17 characters) instead of moto's random one."""
    from moto.iam.models import iam_backends

    digest = base64.b32encode(hashlib.sha256(f"{account_id}:{user}".encode()).digest()).decode()
    iam_backends[account_id]["aws"].get_user(user).id = "AIDA" + digest[:17]


def _set_access_key(account_id: str, user: str, generated: str, wanted: AccessKey) -> None:
    """Give a freshly created key the definition's id and secret (moto generates random ones)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    for key in backend.get_user(user).access_keys:
        if key.access_key_id == generated:
            key.access_key_id = wanted.id
            key.secret_access_key = wanted.secret
            if generated in backend.access_keys:
                backend.access_keys[wanted.id] = backend.access_keys.pop(generated)
            return
    raise RuntimeError(f"access key {generated} of {user} not found")


def _trail_bucket_policy(trail: Trail, account_id: str) -> dict:
    """The bucket policy CloudTrail requires (CloudTrail User Guide, "Amazon S3 bucket policy")."""
    source_arn = f"arn:aws:cloudtrail:*:{account_id}:trail/{trail.name}"
    prefix = f"{trail.prefix}/" if trail.prefix else ""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{trail.bucket}",
                "Condition": {"StringLike": {"aws:SourceArn": source_arn}},
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{trail.bucket}/{prefix}AWSLogs/{account_id}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"},
                    "StringLike": {"aws:SourceArn": source_arn},
                },
            },
        ],
    }


def _queue_policy(queue_arn: str, topic_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
