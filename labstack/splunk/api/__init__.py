"""The splunkd management API: the REST subset the official ``splunklib`` uses.

:mod:`.core` (requests, answers, routing), :mod:`.routes` (the route table) and one module per
resource family: :mod:`.server`, :mod:`.indexes`, :mod:`.search_jobs`, :mod:`.saved_searches`,
:mod:`.knowledge` (macros, lookups) and :mod:`.alerts` (fired alerts, the outbox).
"""

from labstack.splunk.api.core import ApiError, Call, Route, Splunkd
from labstack.splunk.api.routes import ROUTES

__all__ = ["ROUTES", "ApiError", "Call", "Route", "Splunkd"]
