"""The web view: a board of the project's tickets by status, a ticket page, webhook deliveries.

Plain server-rendered HTML with stable hooks for browser tests: every ticket card is
``<article class="ticket" data-key="SEC-1" data-status="To Do">``, every status column is
``<section class="column" data-status="...">``, and the ticket page marks fields with
``data-field`` and comments with ``data-comment-id``. Read-only; it binds to loopback only.

Paths: ``/`` (redirects to the board), ``/board`` (``?refresh=5`` reloads it every 5 s),
``/browse/<KEY>`` (the same path as real Jira's ticket links), ``/webhooks``.
"""

from __future__ import annotations

from html import escape

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from labstack.jira import catalog
from labstack.jira.catalog import Catalog
from labstack.jira.render import Renderer
from labstack.jira.store import Store

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#172b4d}
header{background:#0747a6;color:#fff;padding:.6rem 1rem}header a{color:#fff;margin-right:1rem}
main{padding:1rem}#board{display:flex;gap:1rem;align-items:flex-start}
.column{background:#ebecf0;border-radius:4px;padding:.5rem;width:16rem;min-height:4rem}
.column h2{font-size:.8rem;text-transform:uppercase;margin:.2rem .2rem .6rem}
.ticket{background:#fff;border-radius:3px;padding:.5rem;margin-bottom:.5rem;
box-shadow:0 1px 1px rgba(9,30,66,.25)}.ticket .key{font-size:.8rem}
.label{background:#dfe1e6;border-radius:3px;padding:0 .3rem;margin-right:.2rem;font-size:.75rem}
dl{display:grid;grid-template-columns:10rem 1fr;gap:.3rem}dt{font-weight:600}
pre{white-space:pre-wrap;background:#fff;padding:.5rem;border-radius:3px}
.comment{background:#fff;padding:.5rem;margin:.5rem 0;border-radius:3px;list-style:none}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
"""


def page(title: str, body: str, refresh: int | None = None) -> Response:
    meta = f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else ""
    html = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{meta}"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        "<header><a href='/board'>Board</a><a href='/webhooks'>Webhooks</a>"
        f"<span>{escape(title)}</span></header><main>{body}</main></body></html>"
    )
    return Response(html, content_type="text/html; charset=utf-8")


def _safe_link(url, title) -> str:
    """A link for http(s) URLs only (a remote link could carry ``javascript:``)."""
    text = escape(str(title or url or ""))
    if str(url or "").lower().startswith(("http://", "https://")):
        return f"<a href='{escape(str(url))}' rel='noreferrer noopener'>{text}</a>"
    return text


class Web:
    """WSGI app for the human-facing pages."""

    def __init__(self, cat: Catalog, store: Store, render: Renderer):
        self.cat = cat
        self.store = store
        self.render = render
        self.url_map = Map(
            [
                Rule("/", endpoint="home"),
                Rule("/board", endpoint="board"),
                Rule("/browse/<key>", endpoint="browse"),
                Rule("/webhooks", endpoint="webhooks"),
            ]
        )

    def __call__(self, environ, start_response):
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(Request(environ), **args)
        except NotFound:
            response = page("Not found", "<p>Nothing here.</p>")
            response.status_code = 404
        return response(environ, start_response)

    def home(self, request):
        return redirect("/board")

    def _user(self, name: str | None) -> str:
        user = self.cat.users.get(name) if name else None
        return user.display_name if user else "Unassigned"

    def board(self, request):
        project = self.cat.config.project
        issues = [i for i in self.store.issues() if i["project"] == project]
        columns = []
        for st in catalog.STATUSES:
            cards = [self._card(i) for i in reversed(issues) if i["status"] == st.id]
            columns.append(
                f"<section class='column' data-status='{escape(st.name)}'>"
                f"<h2>{escape(st.name)} <span class='count'>{len(cards)}</span></h2>"
                + "".join(cards)
                + "</section>"
            )
        body = (
            f"<h1>{escape(project)} board</h1>"
            f"<div id='board' data-project='{escape(project)}'>{''.join(columns)}</div>"
        )
        refresh = request.args.get("refresh", type=int)  # ?refresh=5 for a wall display
        return page(f"{project} board", body, refresh if refresh and refresh > 0 else None)

    def _card(self, issue: dict) -> str:
        st = catalog.status(issue["status"]).name
        priority = catalog.by_name_or_id(catalog.PRIORITIES, issue.get("priority") or "3")[1]
        labels = "".join(f"<span class='label'>{escape(x)}</span>" for x in issue.get("labels", []))
        return (
            f"<article class='ticket' data-key='{escape(issue['key'])}' data-status='{escape(st)}'"
            f" data-priority='{escape(priority)}'>"
            f"<a class='key' href='/browse/{escape(issue['key'])}'>{escape(issue['key'])}</a>"
            f"<div class='summary'>{escape(issue['summary'])}</div>"
            f"<div class='meta'><span class='priority'>{escape(priority)}</span> · "
            f"<span class='assignee'>{escape(self._user(issue.get('assignee')))}</span></div>"
            f"<div class='labels'>{labels}</div></article>"
        )

    def browse(self, request, key):
        issue = self.store.issue(key)
        if issue is None:
            raise NotFound()
        fields = self.render.fields(issue)
        rows = [
            ("status", fields["status"]["name"]),
            ("issuetype", fields["issuetype"]["name"]),
            ("priority", (fields["priority"] or {}).get("name", "")),
            ("assignee", self._user(issue.get("assignee"))),
            ("reporter", self._user(issue.get("reporter"))),
            ("resolution", (fields["resolution"] or {}).get("name", "Unresolved")),
            ("labels", " ".join(fields["labels"])),
            ("components", ", ".join(c["name"] for c in fields["components"])),
            ("created", fields["created"]),
            ("updated", fields["updated"]),
        ]
        rows += [(f.name, fields.get(f.id)) for f in catalog.CUSTOM_FIELDS]
        dl = "".join(
            f"<dt>{escape(str(name))}</dt><dd data-field='{escape(str(name))}'>"
            f"{escape('' if value is None else str(value))}</dd>"
            for name, value in rows
        )
        comments = "".join(
            f"<li class='comment' data-comment-id='{escape(c['id'])}'>"
            f"<b>{escape(c['author']['displayName'])}</b> <small>{escape(c['created'])}</small>"
            f"<pre>{escape(c['body'])}</pre></li>"
            for c in fields["comment"]["comments"]
        )
        links = "".join(
            f"<li>{escape(x['type']['name'])}: "
            + " ".join(
                f"<a href='/browse/{escape(x[s]['key'])}'>{escape(x[s]['key'])}</a>"
                for s in ("inwardIssue", "outwardIssue")
                if s in x
            )
            + "</li>"
            for x in fields["issuelinks"]
        )
        remote = "".join(
            f"<li>{_safe_link(r['object'].get('url'), r['object'].get('title'))}</li>"
            for r in (
                self.render.remote_link(issue, d)
                for d in self.store.attached("remotelinks", issue["id"])
            )
        )
        body = (
            f"<article id='ticket' data-key='{escape(issue['key'])}'>"
            f"<h1><span class='key'>{escape(issue['key'])}</span> "
            f"<span class='summary'>{escape(issue['summary'])}</span></h1><dl>{dl}</dl>"
            f"<h2>Description</h2><pre class='description'>{escape(issue.get('description') or '')}"
            f"</pre><h2>Links</h2><ul class='links'>{links}{remote}</ul>"
            f"<h2>Comments</h2><ul class='comments'>{comments}</ul></article>"
        )
        return page(f"{issue['key']}: {issue['summary']}", body)

    def webhooks(self, request):
        hooks = "".join(
            f"<tr data-webhook-id='{h['id']}'><td>{h['id']}</td><td>{escape(h['name'])}</td>"
            f"<td>{escape(h['url'])}</td><td>{escape(', '.join(h['events']))}</td>"
            f"<td>{escape(h.get('jql') or '')}</td></tr>"
            for h in self.store.webhooks()
        )
        rows = "".join(
            f"<tr data-delivery-id='{d['id']}' data-state='{d['state']}'><td>{d['id']}</td>"
            f"<td>{d['webhook_id']}</td><td>{escape(d['url'])}</td><td>{d['state']}</td>"
            f"<td>{d['attempts']}</td><td>{escape(d['last_error'] or '')}</td></tr>"
            for d in self.store.deliveries()
        )
        body = (
            "<h1>Webhooks</h1><table id='webhooks'><tr><th>id</th><th>name</th><th>url</th>"
            f"<th>events</th><th>JQL</th></tr>{hooks}</table>"
            "<h2>Recent deliveries</h2><p>Failed deliveries are parked; after fixing the "
            "receiver, send one again with an authenticated "
            "<code>POST /_lab/webhook-deliveries/&lt;id&gt;/retry</code>.</p>"
            "<table id='deliveries'><tr><th>id</th><th>webhook</th>"
            f"<th>url</th><th>state</th><th>attempts</th><th>last error</th></tr>{rows}</table>"
        )
        return page("Webhooks", body)
