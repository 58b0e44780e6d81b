"""AWS: who am I, the trail logs, the ingest queue is notified, the automation may act."""

from __future__ import annotations

from helpers import enrich, playbooks
from helpers.doctor.base import Context, Problem, check, short, warn


def _aws_error(exc: Exception) -> Problem:
    return Problem(
        short(exc),
        "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(and AWS_ENDPOINT_URL only for the local world)",
    )


@check("AWS", "identity")
def aws_identity(ctx: Context) -> str:
    try:
        who = ctx.aws.client("sts").get_caller_identity()
    except Exception as exc:
        raise _aws_error(exc) from None
    return f"{who['Arn']} in account {who['Account']}"


def _trail(ctx: Context) -> dict:
    """The account's trail: CLOUDTRAIL_TRAIL, else the one delivering to CLOUDTRAIL_BUCKET."""
    trails = ctx.aws.client("cloudtrail").describe_trails()["trailList"]
    name, bucket = ctx.settings.cloudtrail_trail, ctx.settings.cloudtrail_bucket
    chosen = [
        t
        for t in trails
        if (not name or t["Name"] == name) and (not bucket or t.get("S3BucketName") == bucket)
    ]
    if not chosen:
        wanted = [f"CLOUDTRAIL_TRAIL={name}" if name else "",
                  f"delivering to CLOUDTRAIL_BUCKET={bucket}" if bucket else ""]  # fmt: skip
        raise Problem(
            f"no CloudTrail trail {' '.join(w for w in wanted if w)}".rstrip(),
            "create the trail (terraform/trail.tf), or set CLOUDTRAIL_TRAIL and "
            "CLOUDTRAIL_BUCKET to yours",
        )
    return chosen[0]


@check("AWS", "trail is logging", needs=("AWS identity",))
def aws_trail(ctx: Context) -> str:
    trail = _trail(ctx)
    status = ctx.aws.client("cloudtrail").get_trail_status(Name=trail["TrailARN"])
    if not status.get("IsLogging"):
        raise Problem(
            f"trail {trail['Name']} is stopped: nothing is recorded",
            f"aws cloudtrail start-logging --name {trail['Name']}",
        )
    if not trail.get("IsMultiRegionTrail"):
        raise warn(
            f"trail {trail['Name']} records one region only",
            "make it multi-region (attacks happen in regions you do not use)",
        )
    return f"{trail['Name']} logs every region to s3://{trail['S3BucketName']}"


def _queue(ctx: Context) -> tuple[str, dict]:
    name = ctx.settings.cloudtrail_queue
    if not name:
        raise Problem(
            "CLOUDTRAIL_QUEUE is not set",
            "set CLOUDTRAIL_QUEUE to the SQS queue (name or URL) the trail's bucket notifies",
        )
    sqs = ctx.aws.client("sqs")
    try:
        url = name if name.startswith("http") else sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    except Exception as exc:
        raise Problem(
            f"CLOUDTRAIL_QUEUE={name}: {short(exc)}",
            "set CLOUDTRAIL_QUEUE to an existing queue (terraform output ingest_queue_url)",
        ) from None
    return url, attrs


@check(
    "AWS",
    "ingest queue receives notifications",
    needs=("AWS trail is logging",),
    configured=lambda s: s.cloudtrail_queue,
)
def aws_queue(ctx: Context) -> str:
    url, attrs = _queue(ctx)
    arn = attrs["QueueArn"]
    bucket = _trail(ctx)["S3BucketName"]
    config = ctx.aws.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    direct = [c for c in config.get("QueueConfigurations", []) if c["QueueArn"] == arn]
    sns = ctx.aws.client("sns")
    via_topic = [
        c["TopicArn"]
        for c in config.get("TopicConfigurations", [])
        if any(
            s["Endpoint"] == arn
            for s in sns.list_subscriptions_by_topic(TopicArn=c["TopicArn"])["Subscriptions"]
        )
    ]
    if not direct and not via_topic:
        raise Problem(
            f"s3://{bucket} does not notify {arn.rsplit(':', 1)[-1]}",
            "add an s3:ObjectCreated:* notification to an SNS topic the queue is "
            "subscribed to (terraform/ingest.tf)",
        )
    if "RedrivePolicy" not in attrs:
        raise warn(
            f"{url} has no dead-letter queue: a poison file is retried forever",
            "give the queue a redrive policy (maxReceiveCount 3)",
        )
    path = f"via {via_topic[0].rsplit(':', 1)[-1]}" if via_topic else "directly"
    return f"s3://{bucket} notifies {arn.rsplit(':', 1)[-1]} {path}"


def _automation_arn(ctx: Context) -> str:
    key = ctx.settings.automation_aws_access_key_id
    if key:
        from helpers.aws import session

        secret = ctx.secret("automation_aws_secret_access_key")
        sts = session(
            ctx.settings,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name=ctx.settings.aws_region,
        ).client("sts")
    else:
        sts = ctx.aws.client("sts")
    try:
        arn = sts.get_caller_identity()["Arn"]
    except Exception as exc:
        raise Problem(
            f"AUTOMATION_AWS_ACCESS_KEY_ID={key}: {short(exc)}",
            "set the automation's own key, or leave both unset to use the caller",
        ) from None
    if ":assumed-role/" in arn:  # a role session: simulate the role
        role = arn.split(":assumed-role/")[1].split("/")[0]
        arn = ctx.aws.client("iam").get_role(RoleName=role)["Role"]["Arn"]
    return arn


@check("AWS", "automation identity has the playbooks' permissions", needs=("AWS identity",))
def aws_permissions(ctx: Context) -> str:
    arn = _automation_arn(ctx)
    actions = sorted(set(playbooks.permissions()) | set(enrich.permissions()))
    iam = ctx.aws.client("iam")
    try:
        pages = iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=arn, ActionNames=actions
        )
        results = [r for page in pages for r in page["EvaluationResults"]]
    except Exception as exc:
        raise Problem(
            f"cannot simulate {arn}'s policies: {short(exc)}",
            "the caller needs iam:SimulatePrincipalPolicy",
        ) from None
    denied = sorted(r["EvalActionName"] for r in results if r["EvalDecision"] != "allowed")
    if denied:
        raise Problem(
            f"{arn} may not: {', '.join(denied)}",
            "grant them (terraform/automation.tf; lab playbooks permissions --json)",
        )
    return f"{arn} may do all {len(actions)} actions the playbooks and enrichers declare"
