"""Splunk: login, HEC token, index, events arriving, the detections, the webhook allow-list."""

from __future__ import annotations

import json
import re

import requests

from helpers import detections
from helpers.doctor.base import TIMEOUT, Context, Problem, check, short, warn


@check("Splunk", "REST login", configured=lambda s: s.splunk_url)
def splunk_login(ctx: Context) -> str:
    using = "SPLUNK_TOKEN" if ctx.secret("splunk_token") else "SPLUNK_USERNAME/SPLUNK_PASSWORD"
    try:
        info = ctx.splunk.info
    except Exception as exc:
        raise Problem(
            f"SPLUNK_URL={ctx.settings.splunk_url} with {using}: {short(exc)}",
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
            verify=ctx.settings.splunk_hec_verify,  # as the senders will check it
        )
    except requests.exceptions.SSLError as exc:
        raise Problem(
            f"SPLUNK_HEC_URL={ctx.settings.splunk_hec_url}: the certificate is not trusted "
            f"({short(exc)})",
            "set SPLUNK_HEC_VERIFY=false for a self-signed certificate, or the path of its CA "
            "bundle",
        ) from None
    except requests.RequestException as exc:
        raise Problem(
            f"SPLUNK_HEC_URL={ctx.settings.splunk_hec_url}: {short(exc)}",
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
    url = ctx.secret("automation_splunk_webhook_url")
    patterns = [v for k, v in content.items() if k.startswith("allowlist.") and v]
    if not any(_admits(p, url) for p in patterns):
        raise Problem(
            "Splunk's webhook allow-list does not admit AUTOMATION_SPLUNK_WEBHOOK_URL",
            "add the automation server's URL to alert_actions.conf [webhook] allowlist.*",
        )
    return "the webhook allow-list admits the automation server"


def _admits(pattern: str, url: str) -> bool:
    """Whether an alert_actions.conf ``allowlist.*`` regular expression admits ``url``."""
    try:
        return re.search(pattern, url) is not None
    except re.error:
        return False
