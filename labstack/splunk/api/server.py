"""Auth and server resources: ``auth/login``, session logout, ``authentication/current-context``,
``authorization/capabilities``, ``server/info`` (the version splunklib's API gate reads),
``server/health/splunkd``, ``server/settings``, ``server/control/restart`` and the search
parser (``search/parser``, ``search/v2/parser``)."""

from __future__ import annotations

import json
import os
import platform
import threading

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import JSON, XML, ApiError, Call, Splunkd, search_namespace
from labstack.splunk.spl import SPLError
from labstack.splunk.spl.lexer import split_pipeline
from labstack.splunk.spl.planner import expand_macros

#: What the admin role may do (splunkd's ``authorization/capabilities`` for admin, abridged to
#: what the lab's API serves, plus the ones every role has).
CAPABILITIES = (
    "accelerate_search", "admin_all_objects", "change_authentication", "change_own_password",
    "delete_messages", "edit_httpauths", "edit_indexer_cluster", "edit_monitor", "edit_roles",
    "edit_search_schedule_priority", "edit_server", "edit_token_http", "edit_user",
    "get_metadata", "indexes_edit", "list_inputs", "list_settings", "rest_apps_management",
    "rest_properties_get", "rest_properties_set", "restart_splunkd", "rtsearch",
    "schedule_rtsearch", "schedule_search", "search",
)  # fmt: skip
#: Seconds between answering ``server/control/restart`` and restarting (the answer goes first).
RESTART_DELAY = 0.2
RESTART_MESSAGE = "Splunk must be restarted for changes to take effect."


GUID = "6D4A6F2C-1B9F-4E8B-9A52-4C1A8F0B2E11"
LICENSE_KEY = "LAB0000000000000000000000000000000000000000000000000000000000000"
LICENSE_SIGNATURE = "0" * 32


def login(api: Splunkd, call: Call) -> Response:
    key = api.auth.login(call.get("username", ""), call.get("password", ""))
    if key is None:
        text = "Login failed"
        if call.mode == "json":
            body = json.dumps(
                {"messages": [{"type": "WARN", "code": "incorrect_username_or_password",
                               "text": text}]}
            )  # fmt: skip
            return Response(body, 401, content_type=JSON)
        body = (
            f'{atom.XML_DECL}<response><messages><msg type="WARN" '
            f'code="incorrect_username_or_password">{text}</msg></messages></response>'
        )
        return Response(body, 401, content_type=XML)
    if call.mode == "json":
        response = Response(
            json.dumps({"sessionKey": key, "message": "", "code": ""}), content_type=JSON
        )
    else:
        response = Response(atom.response_xml(sessionKey=key), content_type=XML)
    if call.get("cookie", "") in ("1", "true", "True"):
        # splunkd hands the session out as a cookie too when asked (``cookie=1``); splunklib
        # then sends only the cookie.
        port = call.request.environ.get("SERVER_PORT", "8089")
        response.set_cookie(
            f"splunkd_{port}", key, max_age=int(api.auth.session_timeout), path="/",
            secure=call.request.scheme == "https", httponly=True,
        )  # fmt: skip
    return response


def logout(api: Splunkd, call: Call) -> Response:
    api.auth.logout(call.args["token"])
    return api.message(call, "Session deleted.")


def current_context(api: Splunkd, call: Call) -> Response:
    content = {"username": call.user, "realname": "Administrator", "roles": ["admin"]}
    entity = atom.Entity("context", "authentication/current-context", content)
    return api.feed(call, "current-context", [entity])


def server_info(api: Splunkd, call: Call) -> Response:
    content = {
        "version": atom.VERSION,
        "build": atom.BUILD,
        "serverName": api.server_name,
        "host": api.server_name,
        "host_fqdn": api.server_name,
        "product_type": "enterprise",
        "instance_type": "download",
        "os_name": platform.system(),
        "os_version": platform.release(),
        "cpu_arch": platform.machine(),
        "numberOfCores": str(os.cpu_count() or 1),
        "mode": "normal",
        "isFree": "0",
        "isTrial": "0",
        "licenseState": "OK",
        "startup_time": str(int(api.started)),
        "server_roles": ["indexer", "search_head"],
        "os_build": platform.version(),
        "guid": GUID,
        "master_guid": GUID,
        "licenseKeys": [LICENSE_KEY],
        "licenseSignature": LICENSE_SIGNATURE,
        "licenseLabels": ["Splunk Enterprise Lab"],
        "activeLicenseGroup": "Enterprise",
        "kvStoreStatus": "disabled",
    }
    return api.feed(call, "server-info", [atom.Entity("server-info", "server/info", content)])


def capabilities(api: Splunkd, call: Call) -> Response:
    content = {"capabilities": list(CAPABILITIES)}
    entity = atom.Entity("capabilities", "authorization/capabilities", content)
    return api.feed(call, "capabilities", [entity])


def get_settings(api: Splunkd, call: Call) -> Response:
    return api.feed(call, "settings", [_settings_entity(api, call)])


def update_settings(api: Splunkd, call: Call) -> Response:
    given = call.flat(skip=("output_mode",))
    unknown = sorted(set(given) - set(api.settings.editable))
    if unknown:
        raise ApiError(400, f'Argument "{unknown[0]}" is not supported by this handler.')
    try:
        api.settings.update(given)
    except ValueError as exc:
        raise ApiError(400, f"In handler 'server-settings': {exc}") from None
    api.messages.post("restart_required", RESTART_MESSAGE, "warn")
    return api.feed(call, "settings", [_settings_entity(api, call)])


def _settings_entity(api: Splunkd, call: Call) -> atom.Entity:
    port = call.request.environ.get("SERVER_PORT", "8089")
    values = api.settings.values(
        host=api.server_name, port=port, home=str(api.state_dir.resolve()),
        web_ssl=call.request.scheme == "https",
    )  # fmt: skip
    return atom.Entity("settings", "server/settings", values)


def restart(api: Splunkd, call: Call) -> Response:
    """Answer first, then restart: sessions end, messages are cleared, stored state stays."""
    threading.Timer(RESTART_DELAY, api.restart).start()
    return api.message(call, "Restart requested.")


def parser(api: Splunkd, call: Call) -> Response:
    """``search/parser``: the search's commands, or 400 with the parser's error."""
    query = call.get("q")
    if not query:
        raise ApiError(400, "Missing required argument: q")
    try:
        where = search_namespace(call)
        api.store.check_search(query, where)
        text = expand_macros(query.strip(), api.store.macros(where)).removeprefix("|")
        commands = [{"command": p.name, "rawargs": p.args.strip()} for p in split_pipeline(text)]
    except SPLError as exc:
        raise ApiError(400, str(exc), "FATAL") from None
    if call.mode == "json":
        body = {"remoteSearch": query, "commands": commands}
        return Response(json.dumps(body), content_type=JSON)
    items = "".join(
        f"<item><command>{atom.xml_text(c['command'])}</command>"
        f"<rawargs>{atom.xml_text(c['rawargs'])}</rawargs></item>"
        for c in commands
    )
    body = f"{atom.XML_DECL}<response><commands>{items}</commands></response>"
    return Response(body, content_type=XML)


def server_health(api: Splunkd, call: Call) -> Response:
    entity = atom.Entity("splunkd", "server/health/splunkd", {"health": "green"})
    return api.feed(call, "splunkd", [entity])
