"""Slack: the bot token, the channel, and the interactivity URL."""

from __future__ import annotations

import requests

from helpers.doctor.base import TIMEOUT, Context, Problem, check, short


@check("Slack", "auth", configured=lambda s: s.slack_bot_token)
def slack_auth(ctx: Context) -> str:
    try:
        who = ctx.slack.auth_test()
    except Exception as exc:
        raise Problem(
            f"SLACK_BOT_TOKEN: {short(exc)}",
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
            f"SLACK_CHANNEL={channel}: {short(exc)}",
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
