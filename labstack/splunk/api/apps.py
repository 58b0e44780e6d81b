"""Apps (``apps/local``): list the installed apps, install one from a file, read, remove.

Installing takes the archive's path on the Splunk host (``name=<path>&filename=true``), as
splunkd's REST API and ``splunk install app <path>`` do; ``update=true`` replaces an installed
app. The local Splunk installs from files only (no URLs, no Splunkbase)."""

from __future__ import annotations

from pathlib import Path

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import ApiError, Call, Splunkd
from labstack.splunk.apps import App, AppError
from labstack.splunk.saved import flag


def _entity(app: App) -> atom.Entity:
    content = {
        "label": app.label,
        "version": app.version,
        "visible": "1" if app.visible else "0",
        "disabled": "0",
        "configured": "1",
        "state_change_requires_restart": "0",
        "check_for_updates": "0",
    }
    return atom.Entity(app.name, "apps/local", content, owner="nobody", app=app.name,
                       sharing="app", updated=app.installed)  # fmt: skip


def _fail(exc: AppError) -> ApiError:
    return ApiError(exc.status, f"In handler 'localapps': {exc}")


def list_apps(api: Splunkd, call: Call) -> Response:
    return api.listing(call, "localapps", [_entity(a) for a in api.apps.list()])


def create_app(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'localapps': Missing required argument: name")
    if not flag(call.get("filename", "0")):
        raise ApiError(
            400,
            "In handler 'localapps': the local Splunk installs apps from a file only: pass "
            "name=<path of the .tgz on this host> and filename=true",
        )
    if "://" in name or not Path(name).is_absolute():
        raise ApiError(400, f"In handler 'localapps': name must be an absolute file path: {name}")
    try:
        app, created = api.apps.install(Path(name), update=flag(call.get("update", "0")))
    except AppError as exc:
        raise _fail(exc) from None
    return api.feed(call, "localapps", [_entity(app)], 201 if created else 200)


def get_app(api: Splunkd, call: Call) -> Response:
    app = api.apps.get(call.args["name"])
    if app is None:
        raise ApiError(404, f"Could not find object id={call.args['name']}")
    return api.feed(call, "localapps", [_entity(app)])


def delete_app(api: Splunkd, call: Call) -> Response:
    try:
        api.apps.remove(call.args["name"])
    except AppError as exc:
        raise _fail(exc) from None
    return api.feed(call, "localapps", [])
