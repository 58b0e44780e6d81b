"""Jira: the user, the project and issue type, the dedup field, the webhook to the automation."""

from __future__ import annotations

from helpers.doctor.base import Context, Problem, check, short, warn


@check("Jira", "myself", configured=lambda s: s.jira_url)
def jira_myself(ctx: Context) -> str:
    try:
        me = ctx.jira.myself()
    except Exception as exc:
        raise Problem(
            f"JIRA_URL={ctx.settings.jira_url}: {short(exc)}",
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
            f"JIRA_PROJECT={key}: {short(exc)}",
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
            f"JIRA_DEDUP_FIELD={name}: {short(exc)}",
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
            f"cannot list webhooks: {short(exc)}",
            "listing webhooks needs a Jira administrator; check it in Jira's settings",
        ) from None
    if not any(str(h.get("url", "")).startswith(target) for h in hooks):
        raise Problem(
            f"no Jira webhook calls {target}",
            "register one for issue created/updated (helpers.jira.register_webhook), "
            "signed with JIRA_WEBHOOK_SECRET",
        )
    return f"a webhook calls {target}"
