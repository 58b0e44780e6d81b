"""The web view: a channel list and a channel timeline that renders Block Kit.

Sections (text, fields, a button accessory), headers, dividers, context, actions with buttons,
images and legacy attachments are drawn; anything else shows its fallback text. Buttons are
forms that POST to ``/archives/<channel>/click``, which sends the signed interaction.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from labstack.slack.store import USERS

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]+))?>")
#: The shortcodes the lab's messages use; others stay as text.
EMOJI = {
    "rotating_light": "\U0001f6a8",
    "red_circle": "\U0001f534",
    "large_orange_circle": "\U0001f7e0",
    "large_blue_circle": "\U0001f535",
    "white_circle": "\u26aa",
    "grey_question": "\u2754",
    "white_check_mark": "\u2705",
    "x": "\u274c",
    "warning": "\u26a0\ufe0f",
    "lock": "\U0001f512",
}
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_INLINE = [
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])"), r"<i>\1</i>"),
    (re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])"), r"<s>\1</s>"),
]

CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#f8f8f8;color:#1d1c1d}
header{background:#3f0e40;color:#fff;padding:10px 20px}
header a{color:#fff;text-decoration:none;margin-right:14px}
main{max-width:900px;margin:0 auto;padding:12px 20px}
.msg{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:10px 0}
.reply{margin-left:36px;border-left:3px solid #ccc}
.meta{color:#616061;font-size:12px;margin-bottom:6px}
.author{font-weight:700;color:#1d1c1d;margin-right:8px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 20px;margin:6px 0}
.context{color:#616061;font-size:12px;margin:6px 0}
.actions{margin:8px 0}
.btn{display:inline-block;border:1px solid #bbb;border-radius:4px;background:#fff;
 padding:4px 12px;margin-right:6px;cursor:pointer;font-size:14px;text-decoration:none;color:#1d1c1d}
.btn.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.btn.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
form.button-form{display:inline}
.attachment{border-left:4px solid #ddd;padding-left:10px;margin:6px 0}
.interaction{font-size:12px;color:#616061;margin-top:4px}
.interaction.failed{color:#e01e5a}
.ephemeral{color:#616061;font-size:12px;font-style:italic}
code{background:#f2f2f2;border:1px solid #e0e0e0;border-radius:3px;padding:0 3px}
h1{font-size:22px}
"""


def mrkdwn(text: str | None) -> str:
    """Slack ``mrkdwn`` as HTML: links, bold, italics, strike, code and line breaks."""
    if not text:
        return ""
    out, pos = [], 0
    for match in _LINK.finditer(text):
        out.append(_inline(text[pos : match.start()]))
        target, label = match.group(1), match.group(2)
        if target.startswith(("http://", "https://", "mailto:")):
            out.append(f'<a href="{html.escape(target)}">{_inline(label or target)}</a>')
        else:  # user, channel and special mentions: show the label or the raw reference
            out.append(f"<b>@{_inline(label or target.lstrip('@#!'))}</b>")
        pos = match.end()
    out.append(_inline(text[pos:]))
    return "".join(out)


def _inline(segment: str) -> str:
    escaped = html.escape(html.unescape(segment), quote=False)
    escaped = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)
    for pattern, replacement in _INLINE:
        escaped = pattern.sub(replacement, escaped)
    return escaped.replace("\n", "<br>")


def _text(obj: dict | None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "plain_text":
        return html.escape(obj.get("text", "")).replace("\n", "<br>")
    return mrkdwn(obj.get("text", ""))


def _button(element: dict, channel_id: str, ts: str, user: str) -> str:
    label = _text(element.get("text"))
    style = element.get("style", "")
    if element.get("url"):
        url = html.escape(element["url"])
        return f'<a class="btn {style}" href="{url}" target="_blank">{label}</a>'
    action_id = html.escape(element.get("action_id", ""))
    return (
        f'<form class="button-form" method="post" action="/archives/{channel_id}/click">'
        f'<input type="hidden" name="ts" value="{html.escape(ts)}">'
        f'<input type="hidden" name="action_id" value="{action_id}">'
        f'<input type="hidden" name="user" value="{html.escape(user)}">'
        f'<button type="submit" class="btn {style}" data-action-id="{action_id}">{label}</button>'
        "</form>"
    )


def _block(block: dict, channel_id: str, ts: str, user: str) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{_text(block.get('text'))}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "section":
        parts = [f"<div>{_text(block.get('text'))}</div>"] if block.get("text") else []
        if block.get("fields"):
            cells = "".join(f"<div>{_text(f)}</div>" for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            parts.append(f'<div class="actions">{_button(accessory, channel_id, ts, user)}</div>')
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        items = [
            _text(e) if e.get("type") != "image" else f"[{html.escape(e.get('alt_text', ''))}]"
            for e in block.get("elements", [])
        ]
        return f'<div class="context">{" · ".join(items)}</div>'
    if kind == "actions":
        buttons = [
            _button(e, channel_id, ts, user)
            for e in block.get("elements", [])
            if e.get("type") == "button"
        ]
        return f'<div class="actions">{"".join(buttons)}</div>'
    if kind == "image":
        alt = html.escape(block.get("alt_text", ""))
        src = html.escape(block.get("image_url", ""))
        return f'<div><img src="{src}" alt="{alt}" width="300"></div>'
    return ""


def _attachment(att: dict) -> str:
    color = html.escape(att.get("color", "#ddd"))
    if color and not color.startswith("#"):
        color = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}.get(color, "#ddd")
    parts = [f"<b>{mrkdwn(att['title'])}</b>"] if att.get("title") else []
    parts.append(f"<div>{mrkdwn(att.get('text') or att.get('fallback', ''))}</div>")
    for field in att.get("fields", []):
        title, value = mrkdwn(field.get("title")), mrkdwn(field.get("value"))
        parts.append(f"<div><b>{title}</b>: {value}</div>")
    return f'<div class="attachment" style="border-color:{color}">{"".join(parts)}</div>'


def _when(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _author(message: dict) -> str:
    if message.get("username"):
        return message["username"]
    if message.get("bot_id"):
        return "secbot"
    return USERS.get(message.get("user"), {}).get("name", "?")


def _message(message: dict, channel_id: str, user: str, interactions: list[dict], reply: bool):
    ts = message["ts"]
    body = "".join(_block(b, channel_id, ts, user) for b in message.get("blocks") or [])
    if not body:
        body = f"<div>{mrkdwn(message.get('text'))}</div>"
    body += "".join(_attachment(a) for a in message.get("attachments") or [])
    edited = " (edited)" if message.get("edited") else ""
    note = ""
    if message.get("ephemeral_to"):
        who = USERS.get(message["ephemeral_to"], {}).get("name", message["ephemeral_to"])
        note = f'<div class="ephemeral">Only visible to {html.escape(who)}</div>'
    clicks = "".join(_interaction(i) for i in interactions if i["ts"] == ts)
    css = "msg reply" if reply else "msg"
    return (
        f'<div class="{css}" id="m{ts.replace(".", "")}" data-ts="{ts}">'
        f'<div class="meta"><span class="author">{html.escape(_author(message))}</span>'
        f"{_when(ts)}{edited}</div>{note}{body}{clicks}</div>"
    )


def _interaction(record: dict) -> str:
    who = html.escape(record["user_name"])
    label = html.escape(record.get("label") or record["action_id"])
    if record["delivered"]:
        outcome = f"delivered to the request URL (HTTP {record['status']})"
        css = "interaction"
    else:
        outcome = f"not delivered: {html.escape(record.get('error') or 'unknown error')}"
        css = "interaction failed"
    return f'<div class="{css}">{who} clicked “{label}” · {outcome}</div>'


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        '<header><a href="/"><b>Security Lab</b> Slack</a></header>'
        f"<main>{body}</main></body></html>"
    )


def channel_list(channels: list[dict], counts: dict[str, int]) -> str:
    items = "".join(
        f'<li><a href="/archives/{c["id"]}">#{html.escape(c["name"])}</a> '
        f"({counts.get(c['id'], 0)} messages)</li>"
        for c in channels
    )
    return page("Channels", f"<h1>Channels</h1><ul>{items}</ul>")


def timeline(
    channel: dict, threads: list[tuple[dict, list[dict]]], interactions: list[dict], user: str
) -> str:
    """A channel's messages, oldest first, each thread's replies under its parent."""
    switch = " ".join(
        f'<a href="?as={html.escape(u["name"])}">{html.escape(u["name"])}</a>'
        for u in USERS.values()
    )
    who = USERS.get(user, {}).get("name", user)
    parts = [
        f"<h1>#{html.escape(channel['name'])}</h1>",
        f'<p class="meta">Clicking as <b>{html.escape(who)}</b> (switch: {switch})</p>',
    ]
    if not threads:
        parts.append("<p>No messages yet.</p>")
    for parent, replies in threads:
        parts.append(_message(parent, channel["id"], user, interactions, reply=False))
        parts.extend(_message(r, channel["id"], user, interactions, reply=True) for r in replies)
    return page(f"#{channel['name']}", "".join(parts))
