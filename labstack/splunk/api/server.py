"""Auth and server resources: ``auth/login``, session logout, ``authentication/current-context``,
``server/info`` (the version splunklib's API gate reads) and ``server/health/splunkd``."""

from __future__ import annotations

import json
import os
import platform

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import JSON, XML, Call, Splunkd


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
        return Response(
            json.dumps({"sessionKey": key, "message": "", "code": ""}), content_type=JSON
        )
    return Response(atom.response_xml(sessionKey=key), content_type=XML)


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
        "guid": "6D4A6F2C-1B9F-4E8B-9A52-4C1A8F0B2E11",
        "kvStoreStatus": "disabled",
    }
    return api.feed(call, "server-info", [atom.Entity("server-info", "server/info", content)])


def server_health(api: Splunkd, call: Call) -> Response:
    entity = atom.Entity("splunkd", "server/health/splunkd", {"health": "green"})
    return api.feed(call, "splunkd", [entity])
