"""``lab doctor``: check every configured endpoint and say exactly what is wrong and how to fix it.

Each check talks to a product through the same client the toolkit uses (boto3, splunklib, jira,
slack_sdk, requests) and answers ``ok``, ``warn`` (works, but something is missing), ``fail``
(naming the setting and the fix) or ``skip`` (a check it depends on failed, or the product is not
configured). Nothing is changed: every probe is a read, or a request the far side refuses.

>>> from helpers import doctor
>>> [f for f in doctor.run() if f.status == "fail"]                 # doctest: +SKIP
[]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import requests

from helpers import detections, enrich, playbooks
from helpers.config import Settings, get_settings

__all__ = ["Finding", "run"]

TIMEOUT = 10.0


@dataclass
class Finding:
    product: str
    check: str
    status: str  # ok, warn, fail, skip
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class Problem(Exception):
    """A check's failure: what is wrong (``detail``) and how to fix it (``fix``)."""

    def __init__(self, detail: str, fix: str = "", status: str = "fail"):
        super().__init__(detail)
        self.detail, self.fix, self.status = detail, fix, status


def warn(detail: str, fix: str = "") -> Problem:
    return Problem(detail, fix, "warn")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


@dataclass
class Context:
    """What the checks share: the settings, the clients (made once), and what passed so far."""

    settings: Settings
    passed: set[str] = field(default_factory=set)

    @cached_property
    def aws(self):
        from helpers.aws import session

        return session(self.settings)

    @cached_property
    def splunk(self):
        from helpers import splunk

        return splunk.connect(self.settings)

    @cached_property
    def jira(self):
        from helpers import jira

        return jira.connect(self.settings, max_retries=0, timeout=TIMEOUT)

    @cached_property
    def slack(self):
        from helpers import slack

        return slack.web_client(self.settings)

    def secret(self, name: str) -> str | None:
        value = getattr(self.settings, name)
        return value.get_secret_value() if value is not None else None


@dataclass(frozen=True)
class Check:
    product: str
    name: str
    run: Callable[[Context], str]
    needs: tuple[str, ...] = ()
    configured: Callable[[Settings], Any] = lambda s: True


CHECKS: list[Check] = []


def check(product: str, name: str, *, needs=(), configured=lambda s: True):
    def register(fn: Callable[[Context], str]) -> Callable[[Context], str]:
        CHECKS.append(Check(product, name, fn, tuple(needs), configured))
        return fn

    return register


# -- AWS ---------------------------------------------------------------------------------------
def _aws_error(exc: Exception) -> Problem:
    return Problem(
        _short(exc),
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
    trails = ctx.aws.client("cloudtrail").describe_trails()["trailList"]
    bucket = ctx.settings.cloudtrail_bucket
    chosen = [t for t in trails if not bucket or t.get("S3BucketName") == bucket]
    if not chosen:
        where = f" delivering to CLOUDTRAIL_BUCKET={bucket}" if bucket else ""
        raise Problem(
            f"no CloudTrail trail{where}",
            "create the trail (terraform/trail.tf), or set CLOUDTRAIL_BUCKET to its bucket",
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
            f"CLOUDTRAIL_QUEUE={name}: {_short(exc)}",
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
            f"AUTOMATION_AWS_ACCESS_KEY_ID={key}: {_short(exc)}",
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
            f"cannot simulate {arn}'s policies: {_short(exc)}",
            "the caller needs iam:SimulatePrincipalPolicy",
        ) from None
    denied = sorted(r["EvalActionName"] for r in results if r["EvalDecision"] != "allowed")
    if denied:
        raise Problem(
            f"{arn} may not: {', '.join(denied)}",
            "grant them (terraform/automation.tf; lab playbooks permissions --json)",
        )
    return f"{arn} may do all {len(actions)} actions the playbooks and enrichers declare"


# -- Splunk ------------------------------------------------------------------------------------
@check("Splunk", "REST login", configured=lambda s: s.splunk_url)
def splunk_login(ctx: Context) -> str:
    using = "SPLUNK_TOKEN" if ctx.secret("splunk_token") else "SPLUNK_USERNAME/SPLUNK_PASSWORD"
    try:
        info = ctx.splunk.info
    except Exception as exc:
        raise Problem(
            f"SPLUNK_URL={ctx.settings.splunk_url} with {using}: {_short(exc)}",
            f"check SPLUNK_URL (https://host:8089) and {using} (SPLUNK_TOKEN, when set, wins)",
        ) from None
    return f"Splunk {info.get('version', '?')} at {ctx.settings.splunk_url}"


@check("Splunk", "HEC token", configured=lambda s: s.splunk_hec_url)
def splunk_hec(ctx: Context) -> str:
    url = f"{ctx.settings.splunk_hec_url.rstrip('/')}/services/collector/event"
    token = ctx.secret("splunk_hec_token") or ""
    try:  # an empty batch: a valid token gets "No data" (code 5), a bad one 401/403
        answer = requests.post(
            url,
            data=b"",
            headers={"Authorization": f"Splunk {token}"},
            timeout=TIMEOUT,
            verify=False,
        )
    except requests.RequestException as exc:
        raise Problem(
            f"SPLUNK_HEC_URL={ctx.settings.splunk_hec_url}: {_short(exc)}",
            "check SPLUNK_HEC_URL (https://host:8088) and that HEC is enabled",
        ) from None
    code = _json(answer).get("code")
    if answer.status_code in (401, 403) or code in (2, 3, 4, 1):
        raise Problem(
            f"HEC refused SPLUNK_HEC_TOKEN: {answer.text[:120]}",
            "set SPLUNK_HEC_TOKEN to an enabled token "
            "(Settings > Data inputs > HTTP Event Collector)",
        )
    if code != 5:
        raise Problem(
            f"{url} answered HTTP {answer.status_code}: {answer.text[:120]}",
            "SPLUNK_HEC_URL must be the HEC port, not the management port",
        )
    return f"HEC at {ctx.settings.splunk_hec_url} accepts the token"


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@check("Splunk", "index", needs=("Splunk REST login",), configured=lambda s: s.splunk_url)
def splunk_index(ctx: Context) -> str:
    index = ctx.settings.splunk_index
    if index not in ctx.splunk.indexes:
        raise Problem(
            f"SPLUNK_INDEX={index} does not exist",
            "create it (Settings > Indexes) or set SPLUNK_INDEX to the CloudTrail index",
        )
    return f"index {index} exists"


@check("Splunk", "CloudTrail events arrive", needs=("Splunk index",))
def splunk_events(ctx: Context) -> str:
    from helpers import splunk

    index = ctx.settings.splunk_index
    spl = f"search index={index} sourcetype=aws:cloudtrail | head 1 | stats count"
    found = splunk.search(spl, earliest="-24h", service=ctx.splunk)
    if found.empty or int(found.iloc[0]["count"]) == 0:
        raise warn(
            f"no aws:cloudtrail events in index {index} in the last 24 hours",
            "check the ingest (helpers.ingest, or the add-on's SQS-based S3 input on "
            "CLOUDTRAIL_QUEUE); in the local world, run `lab simulate baseline`",
        )
    return f"aws:cloudtrail events arrive in {index}"


@check("Splunk", "detections installed", needs=("Splunk REST login",))
def splunk_detections(ctx: Context) -> str:
    url = ctx.secret("automation_splunk_webhook_url")
    missing, elsewhere = [], []
    saved = ctx.splunk.saved_searches
    for detection in detections.load():
        if not detection.enabled:
            continue
        if detection.id not in saved:
            missing.append(detection.id)
            continue
        content = saved[detection.id].content
        if (
            "webhook" in str(content.get("actions", ""))
            and url
            and content.get("action.webhook.param.url") != url
        ):
            elsewhere.append(detection.id)
    if missing:
        raise Problem(
            f"saved searches missing: {', '.join(missing)}",
            "install them: helpers.splunk.install_detections() or lab export splunk-app",
        )
    if elsewhere:
        raise Problem(
            f"webhooks point elsewhere than AUTOMATION_SPLUNK_WEBHOOK_URL: {', '.join(elsewhere)}",
            "re-run helpers.splunk.install_detections()",
        )
    return "every enabled detection is a saved search alerting the automation"


@check(
    "Splunk",
    "webhook allow-list",
    needs=("Splunk REST login",),
    configured=lambda s: s.automation_splunk_webhook_url,
)
def splunk_allowlist(ctx: Context) -> str:
    from splunklib.binding import HTTPError

    try:
        body = ctx.splunk.get("configs/conf-alert_actions/webhook", output_mode="json").body
        content = json.loads(body.read())["entry"][0]["content"]
    except HTTPError as exc:
        if exc.status == 404:
            return "no webhook allow-list configured (alert_actions.conf [webhook])"
        raise
    if str(content.get("enable_allowlist", "false")).lower() not in ("1", "true"):
        return "the webhook allow-list is off"
    import fnmatch

    url = ctx.secret("automation_splunk_webhook_url")
    patterns = [v for k, v in content.items() if k.startswith("allowlist.") and v]
    if not any(fnmatch.fnmatch(url, p.replace(".*", "*")) for p in patterns):
        raise Problem(
            "Splunk's webhook allow-list does not admit AUTOMATION_SPLUNK_WEBHOOK_URL",
            "add the automation server's URL to alert_actions.conf [webhook] allowlist.*",
        )
    return "the webhook allow-list admits the automation server"


# -- Jira --------------------------------------------------------------------------------------
@check("Jira", "myself", configured=lambda s: s.jira_url)
def jira_myself(ctx: Context) -> str:
    try:
        me = ctx.jira.myself()
    except Exception as exc:
        raise Problem(
            f"JIRA_URL={ctx.settings.jira_url}: {_short(exc)}",
            "check JIRA_URL, JIRA_USER and JIRA_TOKEN (an API token on Jira Cloud)",
        ) from None
    return f"signed in as {me.get('name') or me.get('emailAddress') or me.get('displayName')}"


@check("Jira", "project and issue type", needs=("Jira myself",))
def jira_project(ctx: Context) -> str:
    key, kind = ctx.settings.jira_project, ctx.settings.jira_issue_type
    try:
        project = ctx.jira.project(key)
    except Exception as exc:
        raise Problem(
            f"JIRA_PROJECT={key}: {_short(exc)}",
            "set JIRA_PROJECT to a project key this user can create issues in",
        ) from None
    types = [t.name for t in getattr(project, "issueTypes", [])]
    if types and kind not in types:
        raise Problem(
            f"JIRA_ISSUE_TYPE={kind} is not in project {key} ({', '.join(types)})",
            "set JIRA_ISSUE_TYPE to one of the project's issue types",
        )
    return f"project {key} takes {kind} issues"


@check("Jira", "dedup field", needs=("Jira myself",))
def jira_dedup_field(ctx: Context) -> str:
    from helpers import jira

    name = ctx.settings.jira_dedup_field
    try:
        fid = jira.field_id(ctx.jira, name)
    except Exception as exc:
        raise Problem(
            f"JIRA_DEDUP_FIELD={name}: {_short(exc)}",
            "create a text custom field of that name on the project's screens",
        ) from None
    return f"dedup key field {name!r} is {fid}"


@check(
    "Jira",
    "webhook to the automation",
    needs=("Jira myself",),
    configured=lambda s: s.automation_url,
)
def jira_webhook(ctx: Context) -> str:
    from helpers import jira

    target = f"{ctx.settings.automation_url.rstrip('/')}/jira/webhook"
    try:
        hooks = jira.list_webhooks(ctx.jira)
    except Exception as exc:
        raise warn(
            f"cannot list webhooks: {_short(exc)}",
            "listing webhooks needs a Jira administrator; check it in Jira's settings",
        ) from None
    if not any(str(h.get("url", "")).startswith(target) for h in hooks):
        raise Problem(
            f"no Jira webhook calls {target}",
            "register one for issue created/updated (helpers.jira.register_webhook), "
            "signed with JIRA_WEBHOOK_SECRET",
        )
    return f"a webhook calls {target}"


# -- the automation server ---------------------------------------------------------------------
@check("Automation", "server", configured=lambda s: s.automation_url)
def automation_server(ctx: Context) -> str:
    url = f"{ctx.settings.automation_url.rstrip('/')}/_lab/health"
    try:
        answer = requests.get(url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise Problem(
            f"AUTOMATION_URL={ctx.settings.automation_url}: {_short(exc)}",
            "start it (python -m helpers.automation) or fix AUTOMATION_URL",
        ) from None
    if not answer.ok:
        raise Problem(f"{url} answered HTTP {answer.status_code}", "see the server's log")
    return f"up at {ctx.settings.automation_url}"


@check(
    "Automation",
    "Splunk webhook URL",
    needs=("Automation server",),
    configured=lambda s: s.automation_splunk_webhook_url,
)
def automation_webhook(ctx: Context) -> str:
    url = ctx.secret("automation_splunk_webhook_url")
    answer = requests.post(
        url,
        data=b"{}",
        timeout=TIMEOUT,  # refused by its body, not its token
        headers={"Content-Type": "application/json"},
    )
    if answer.status_code in (401, 403, 404):
        raise Problem(
            f"the automation server refused AUTOMATION_SPLUNK_WEBHOOK_URL "
            f"(HTTP {answer.status_code}): its token is wrong",
            "copy the URL `lab env` prints, or the server's AUTOMATION_TOKEN",
        )
    if answer.status_code != 400:
        raise Problem(
            f"the webhook URL answered HTTP {answer.status_code}",
            "AUTOMATION_SPLUNK_WEBHOOK_URL must end in /splunk/webhook/<token>",
        )
    return "the webhook URL's token is accepted"


# -- Slack -------------------------------------------------------------------------------------
@check("Slack", "auth", configured=lambda s: s.slack_bot_token)
def slack_auth(ctx: Context) -> str:
    try:
        who = ctx.slack.auth_test()
    except Exception as exc:
        raise Problem(
            f"SLACK_BOT_TOKEN: {_short(exc)}",
            "set SLACK_BOT_TOKEN to the app's bot token (xoxb-...)",
        ) from None
    return f"bot {who.get('user')} in team {who.get('team')}"


@check("Slack", "channel", needs=("Slack auth",))
def slack_channel(ctx: Context) -> str:
    from helpers import slack

    channel = ctx.settings.slack_channel
    try:
        cid = slack.resolve_channel(ctx.slack, channel)
    except Exception as exc:
        raise Problem(
            f"SLACK_CHANNEL={channel}: {_short(exc)}",
            "create the channel and invite the bot (/invite @bot), or fix SLACK_CHANNEL",
        ) from None
    return f"{channel} is {cid}"


@check(
    "Slack",
    "interactivity URL",
    needs=("Automation server",),
    configured=lambda s: s.slack_bot_token and s.automation_url,
)
def slack_interactivity(ctx: Context) -> str:
    url = f"{ctx.settings.automation_url.rstrip('/')}/slack/actions"
    if not ctx.secret("slack_signing_secret"):
        raise Problem(
            "SLACK_SIGNING_SECRET is not set: button clicks cannot be verified",
            "set it to the app's signing secret (Basic Information)",
        )
    answer = requests.post(url, data={"payload": "{}"}, timeout=TIMEOUT)
    if answer.status_code != 401:
        raise Problem(
            f"{url} answered HTTP {answer.status_code} to an unsigned click",
            "the automation server must be the app's Interactivity Request URL",
        )
    return f"set the app's Interactivity Request URL to {url} (it verifies Slack's signature)"


# -- running -----------------------------------------------------------------------------------
def run(
    settings: Settings | None = None,
    products: tuple[str, ...] = (),
    checks: tuple[str, ...] = (),
) -> list[Finding]:
    """Every check (of ``products``, or only the ``checks`` named "Product check", when given),
    in order; a check whose prerequisite did not pass is skipped with the reason."""
    ctx = Context(settings or get_settings())
    findings = []
    for item in CHECKS:
        label = f"{item.product} {item.name}"
        if (products and item.product.lower() not in products) or (checks and label not in checks):
            continue
        if not item.configured(ctx.settings):
            findings.append(Finding(item.product, item.name, "skip", "not configured"))
            continue
        blocked = [n for n in item.needs if n not in ctx.passed]
        if blocked:
            findings.append(Finding(item.product, item.name, "skip", f"needs: {blocked[0]}"))
            continue
        try:
            detail = item.run(ctx)
        except Problem as problem:
            findings.append(
                Finding(item.product, item.name, problem.status, problem.detail, problem.fix)
            )
            if problem.status == "warn":
                ctx.passed.add(label)
            continue
        except Exception as exc:  # an unexpected answer: reported, not raised
            findings.append(Finding(item.product, item.name, "fail", _short(exc)))
            continue
        ctx.passed.add(label)
        findings.append(Finding(item.product, item.name, "ok", detail))
    return findings
