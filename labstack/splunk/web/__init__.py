"""The web pages: the search page and the triggered-alerts page, from template files.

Pages are Jinja2 templates (``templates/``) rendered with autoescaping, so every value that
reaches the HTML is escaped; their scripts and styles are static files (``static/``, served under
:data:`STATIC`), so the pages run under a strict Content-Security-Policy with no inline script or
style. Both pages log in and read data through the same REST API splunklib uses, so they never
see anything a client could not.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.wrappers import Request, Response

__all__ = ["ALERTS_PAGES", "CSP", "PAGES", "STATIC", "Web"]

#: Where Splunk Web puts its search page, plus the root for convenience.
PAGES = ("/", "/en-US", "/en-US/app/search/search", "/app/search/search", "/en-US/app/search")
#: Where Splunk Web lists triggered alerts (we also accept the short forms).
ALERTS_PAGES = ("/en-US/app/search/alerts", "/app/search/alerts", "/alerts")
#: ``results_link`` targets: they show the alerts of one sid.
GO_PAGES = ("/app/search/@go", "/en-US/app/search/@go")
#: Where the pages' scripts and styles are served.
STATIC = "/en-US/static/lab"
#: Scripts, styles and fetches from this server only; no inline code, no framing, no plugins.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


class Web:
    """The pages' handler: a Response for their paths (GET only), None for anything else."""

    def __init__(self):
        self.templates = Environment(
            loader=PackageLoader("labstack.splunk.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self._static = resources.files("labstack.splunk.web").joinpath("static")

    def render(self, name: str, **values) -> Response:
        body = self.templates.get_template(name).render(static=STATIC, **values)
        return _secure(Response(body, content_type="text/html; charset=utf-8"))

    def page(self, request: Request) -> Response | None:
        if request.method != "GET":
            return None
        path = request.path.rstrip("/") or "/"
        if path in PAGES:
            return self.render("search.html")
        if path in ALERTS_PAGES:
            return self.render("alerts.html", sid=request.args.get("sid", ""))
        if path in GO_PAGES:
            sid = request.args.get("sid", "")
            response = Response(status=302)
            response.headers["Location"] = f"{ALERTS_PAGES[0]}?sid={quote(sid, safe='')}"
            return response
        if path.startswith(STATIC + "/"):
            return self.static(path[len(STATIC) + 1 :])
        return None

    def static(self, name: str) -> Response | None:
        if "/" in name or name.startswith(".") or not name.endswith(tuple(_STATIC_TYPES)):
            return None
        item = self._static.joinpath(name)
        if not item.is_file():
            return None
        kind = _STATIC_TYPES.get(name[name.rfind(".") :]) or mimetypes.guess_type(name)[0]
        response = Response(item.read_bytes(), content_type=kind)
        response.headers["Cache-Control"] = "no-cache"
        return _secure(response)
