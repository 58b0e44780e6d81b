"""The web view: a channel list and a channel timeline that renders Block Kit.

Sections (text, fields, a button accessory), headers, dividers, context, actions with buttons,
images and legacy attachments are drawn; anything else shows its fallback text. Buttons are
forms that POST to ``/archives/<channel>/click``, which sends the signed interaction; the message
box at the bottom POSTs to ``/archives/<channel>/message`` (a message, or a slash command). Every
form carries the page's CSRF token (:mod:`.session`); every stored field is escaped, links and
images are http(s) only, and ``/_static/view.js`` (the only script) refreshes the messages.
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
_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")
BUTTON_STYLES = ("primary", "danger")
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
#compose{position:sticky;bottom:0;background:#f8f8f8;padding:10px 0 14px;display:flex;gap:8px;
 border-top:1px solid #ddd}
#compose input[type=text]{flex:1;font-size:15px;padding:8px 10px;border:1px solid #bbb;
 border-radius:6px}
#compose .btn{font-size:15px}
.hint{color:#616061;font-size:12px;margin:0 0 4px}
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


def safe_url(url) -> str | None:
    """The URL when it is http(s), else None (no ``javascript:`` or ``data:`` targets)."""
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return url
    return None


def _text(obj) -> str:
    if not obj:
        return ""
    if not isinstance(obj, dict):  # not a text object: shown as plain text, never as markup
        return html.escape(str(obj))
    if obj.get("type") == "plain_text":
        return html.escape(_str(obj.get("text"))).replace("\n", "<br>")
    return mrkdwn(_str(obj.get("text")))


def _button(element: dict, channel_id: str, ts: str, csrf: str) -> str:
    label = _text(element.get("text"))
    style = element.get("style") if element.get("style") in BUTTON_STYLES else ""
    if element.get("url"):
        url = safe_url(element["url"])
        if url is None:  # a javascript: or other non-web URL: shown, never followed
            return f'<span class="btn {style}" title="link removed">{label}</span>'
        return (
            f'<a class="btn {style}" href="{html.escape(url)}" target="_blank"'
            f' rel="noopener noreferrer">{label}</a>'
        )
    action_id = html.escape(str(element.get("action_id", "")))
    return (
        f'<form class="button-form" method="post" action="/archives/{html.escape(channel_id)}'
        '/click">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        f'<input type="hidden" name="ts" value="{html.escape(ts)}">'
        f'<input type="hidden" name="action_id" value="{action_id}">'
        f'<button type="submit" class="btn {style}" data-action-id="{action_id}">{label}</button>'
        "</form>"
    )


def _block(block: dict, channel_id: str, ts: str, csrf: str) -> str:
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{_text(block.get('text'))}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "section":
        parts = [f"<div>{_text(block.get('text'))}</div>"] if block.get("text") else []
        if block.get("fields"):
            cells = "".join(f"<div>{_text(f)}</div>" for f in _list(block["fields"]))
            parts.append(f'<div class="fields">{cells}</div>')
        accessory = block.get("accessory") or {}
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            parts.append(f'<div class="actions">{_button(accessory, channel_id, ts, csrf)}</div>')
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        items = [
            f"[{html.escape(str(e.get('alt_text', '')))}]"
            if isinstance(e, dict) and e.get("type") == "image"
            else _text(e)
            for e in _list(block.get("elements"))
        ]
        return f'<div class="context">{" · ".join(items)}</div>'
    if kind == "actions":
        buttons = [
            _button(e, channel_id, ts, csrf)
            for e in _list(block.get("elements"))
            if isinstance(e, dict) and e.get("type") == "button"
        ]
        return f'<div class="actions">{"".join(buttons)}</div>'
    if kind == "image":
        alt = html.escape(str(block.get("alt_text", "")))
        src = safe_url(block.get("image_url"))
        if src is None:
            return f"<div>[{alt}]</div>"
        return f'<div><img src="{html.escape(src)}" alt="{alt}" width="300"></div>'
    return ""


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _str(value) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _attachment(att: dict) -> str:
    if not isinstance(att, dict):
        return ""
    color = _str(att.get("color")) or "#ddd"
    if not _COLOR.fullmatch(color):
        color = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}.get(color, "#ddd")
    parts = [f"<b>{mrkdwn(_str(att['title']))}</b>"] if att.get("title") else []
    parts.append(f"<div>{mrkdwn(_str(att.get('text') or att.get('fallback', '')))}</div>")
    for field in _list(att.get("fields")):
        if not isinstance(field, dict):
            continue
        title, value = mrkdwn(_str(field.get("title"))), mrkdwn(_str(field.get("value")))
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


def _message(message: dict, channel_id: str, csrf: str, interactions: list[dict], reply: bool):
    ts = message["ts"]
    body = "".join(_block(b, channel_id, ts, csrf) for b in _list(message.get("blocks")))
    if not body:
        body = f"<div>{mrkdwn(_str(message.get('text')))}</div>"
    body += "".join(_attachment(a) for a in _list(message.get("attachments")))
    edited = " (edited)" if message.get("edited") else ""
    note = ""
    if message.get("ephemeral_to"):
        who = USERS.get(message["ephemeral_to"], {}).get("name", message["ephemeral_to"])
        note = f'<div class="ephemeral">Only visible to {html.escape(who)}</div>'
    clicks = "".join(_interaction(i) for i in interactions if i["ts"] == ts)
    css = "msg reply" if reply else "msg"
    return (
        f'<div class="{css}" id="m{html.escape(ts.replace(".", ""))}" data-ts="{html.escape(ts)}">'
        f'<div class="meta"><span class="author">{html.escape(_author(message))}</span>'
        f"{_when(ts)}{edited}</div>{note}{body}{clicks}</div>"
    )


def _shown(message: dict, channel_id: str, csrf: str, interactions: list[dict], reply: bool):
    """``_message``, or a note in its place when what is stored cannot be drawn (a store from
    before Block Kit was checked on the way in): one odd message never takes the page down."""
    try:
        return _message(message, channel_id, csrf, interactions, reply)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
        css = "msg reply" if reply else "msg"
        return f'<div class="{css}">[a message the view cannot show]</div>'


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


def page(title: str, body: str, script: bool = False) -> str:
    js = '<script src="/_static/view.js" defer></script>' if script else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style>{js}</head><body>"
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
    channel: dict,
    threads: list[tuple[dict, list[dict]]],
    interactions: list[dict],
    user: str,
    csrf: str = "",
    revision: str = "",
) -> str:
    """A channel's messages, oldest first, each thread's replies under its parent, then the
    message box; ``user`` is the view's logged-in user, ``csrf`` the page's token."""
    switch = " ".join(
        f'<a href="?as={html.escape(u["name"])}">{html.escape(u["name"])}</a>'
        for u in USERS.values()
    )
    who = USERS.get(user, {}).get("name", user)
    cid, name = html.escape(channel["id"]), html.escape(channel["name"])
    parts = [
        f"<h1>#{name}</h1>",
        f'<p class="meta">Signed in as <b id="me">{html.escape(who)}</b> (switch: {switch})</p>',
        f'<div id="messages" data-revision="{html.escape(revision)}"'
        f' data-revision-url="/archives/{cid}/revision">',
    ]
    if not threads:
        parts.append("<p>No messages yet.</p>")
    for parent, replies in threads:
        parts.append(_shown(parent, channel["id"], csrf, interactions, reply=False))
        parts.extend(_shown(r, channel["id"], csrf, interactions, reply=True) for r in replies)
    parts.append('</div><div id="end"></div>')
    parts.append(
        f'<form id="compose" method="post" action="/archives/{cid}/message" autocomplete="off">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        f'<input type="text" name="text" maxlength="4000" aria-label="Message #{name}"'
        f' placeholder="Message #{name}, or a command: /secbot status SEC-1" autofocus>'
        '<button type="submit" class="btn primary">Send</button></form>'
    )
    return page(f"#{channel['name']}", "".join(parts), script=True)


#: The view's only script: new messages appear without a reload (what is typed stays).
SCRIPT = """
(() => {
  const current = () => document.getElementById('messages');
  const start = current();
  if (!start) return;
  const url = start.dataset.revisionUrl;
  let revision = start.dataset.revision;
  async function poll() {
    try {
      const r = await fetch(url, {cache: 'no-store', credentials: 'same-origin'});
      const now = (await r.text()).trim();
      if (r.ok && now !== revision) {
        const page = await fetch(location.href, {cache: 'no-store', credentials: 'same-origin'});
        const doc = new DOMParser().parseFromString(await page.text(), 'text/html');
        const fresh = doc.getElementById('messages');
        if (fresh) {
          const bottom = innerHeight + scrollY >= document.body.scrollHeight - 40;
          current().replaceWith(document.adoptNode(fresh));
          revision = fresh.dataset.revision;
          if (bottom) scrollTo(0, document.body.scrollHeight);
        }
      }
    } catch (e) { /* the service restarting: try again */ }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1500);
})();
"""
