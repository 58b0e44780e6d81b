"""What the toolkit's web apps (the automation server, the jobs service) share: a route table
dispatched to ``on_<endpoint>`` methods, JSON errors that name the problem, the security headers
every response carries, and autoescaping Jinja pages.

>>> from werkzeug.routing import Map, Rule
>>> from werkzeug.test import Client
>>> class Hello(RoutedApp):
...     urls = Map([Rule("/hello/<name>", endpoint="hello")])
...     def on_hello(self, request, name):
...         return json_response({"hello": name})
>>> response = Client(Hello()).get("/hello/world")
>>> response.json, response.headers["X-Frame-Options"]
({'hello': 'world'}, 'DENY')
>>> Client(Hello()).get("/nowhere").status_code
404
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

__all__ = ["SECURITY_HEADERS", "RoutedApp", "json_response", "pages", "timefmt"]

log = logging.getLogger("helpers.runtime.webapp")

#: Pages load nothing but their own stylesheet and images; no script, no frames, no forms.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, content_type="application/json")


def timefmt(epoch: float | None) -> str:
    """``2026-12-01 14:05:00`` (UTC, as the stand-ins show times); empty for none."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else ""


def pages(folder: Path, **filters) -> Environment:
    """Jinja templates from ``folder``, every value escaped, with ``timefmt`` and ``filters``."""
    environment = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    environment.filters.update({"timefmt": timefmt, **filters})
    return environment


class RoutedApp:
    """A WSGI app whose ``urls`` route to ``on_<endpoint>(request, **arguments)``.

    Errors become ``{"error": ...}``: a werkzeug ``HTTPException`` with its status, whatever
    ``error_response`` turns into a response (an app's own validation errors), anything else a
    500 that names the log (``service``) and is logged with its traceback.
    """

    urls: Map
    service = "the service"
    max_content_length: int | None = None

    def error_response(self, error: Exception) -> Response | None:
        """The response for an error this app knows (None: not one of its own)."""
        return None

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.max_content_length
        try:
            endpoint, arguments = self.urls.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **arguments)
        except HTTPException as err:
            response = json_response({"error": err.description or err.name}, err.code or 500)
        except Exception as err:
            response = self.error_response(err)
            if response is None:
                log.exception("%s %s failed", request.method, request.path)
                response = json_response({"error": f"internal error (see {self.service} log)"}, 500)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)
