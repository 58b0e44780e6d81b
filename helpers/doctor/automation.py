"""The automation server: it answers, and it accepts the Splunk webhook URL's token."""

from __future__ import annotations

import requests

from helpers.doctor.base import TIMEOUT, Context, Problem, check, short


@check("Automation", "server", configured=lambda s: s.automation_url)
def automation_server(ctx: Context) -> str:
    url = f"{ctx.settings.automation_url.rstrip('/')}/_lab/health"
    try:
        answer = requests.get(url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise Problem(
            f"AUTOMATION_URL={ctx.settings.automation_url}: {short(exc)}",
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
