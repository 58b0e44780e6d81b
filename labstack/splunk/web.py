"""The search page: type SPL, see the results table and the field list, browse saved searches.

The page is static; it logs in through ``/services/auth/login`` and searches through the same
REST API that splunklib uses, so it never sees anything a client could not.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from werkzeug.wrappers import Request, Response

#: Where Splunk Web puts its search page, plus the root for convenience.
PAGES = ("/", "/en-US", "/en-US/app/search/search", "/app/search/search", "/en-US/app/search")


@cache
def page() -> str:
    return resources.files("labstack.splunk").joinpath("search.html").read_text(encoding="utf-8")


def web_routes(request: Request) -> Response | None:
    """The page for its paths (GET only); None for anything else."""
    path = request.path.rstrip("/") or "/"
    if request.method == "GET" and path in PAGES:
        response = Response(page(), content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        return response
    return None
