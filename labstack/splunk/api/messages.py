"""Bulletin messages (``messages``): what splunkd tells its users, ``restart_required`` included.

``POST messages`` with ``name`` and ``value`` (and optionally ``severity``: info, warn or error)
posts one; a second post under the same name replaces it. ``DELETE messages/<name>`` removes
it. Messages live in memory, as splunkd's do, so a restart (``server/control/restart``) clears
them; splunklib's ``restart()`` waits for exactly that (its ``restart_required`` message gone).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import ApiError, Call, Splunkd

SEVERITIES = ("info", "warn", "error")


def _entity(api: Splunkd, name: str, item: tuple[str, str, float]) -> atom.Entity:
    value, severity, posted = item
    content = {
        name: value,
        "message": value,
        "severity": severity,
        "server": api.server_name,
        "help": "",
        "timeCreated_epochSecs": str(int(posted)),
        "timeCreated_iso": atom.iso(posted),
    }
    return atom.Entity(name, "messages", content, owner="nobody", app="system", updated=posted)


def list_messages(api: Splunkd, call: Call) -> Response:
    entities = [_entity(api, name, item) for name, item in api.messages.items()]
    return api.listing(call, "messages", entities)


def get_message(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    item = api.messages.get(name)
    if item is None:
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "messages", [_entity(api, name, item)])


def create_message(api: Splunkd, call: Call) -> Response:
    name, value = call.get("name"), call.get("value")
    for arg, given in (("name", name), ("value", value)):
        if not given:
            raise ApiError(400, f"In handler 'messages': Missing required argument: {arg}")
    severity = (call.get("severity") or "warn").lower()
    if severity not in SEVERITIES:
        raise ApiError(
            400,
            f"In handler 'messages': Argument 'severity' must be one of "
            f"{', '.join(SEVERITIES)}, got '{severity}'.",
        )
    api.messages.post(name, value, severity)
    return api.feed(call, "messages", [_entity(api, name, api.messages.get(name))], 201)


def delete_message(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if not api.messages.delete(name):
        raise ApiError(404, f"Could not find object id={name}")
    return list_messages(api, call)
