"""Users (``authentication/users``): list, create (``name``, ``password``, ``roles``), read
and delete. A user made here can log in (``auth/login``) and gets sessions of their own; the
admin comes from the settings and cannot be removed."""

from __future__ import annotations

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import ApiError, Call, Splunkd

#: Details a user may be given besides name, password and roles.
DETAILS = ("realname", "email", "defaultApp", "tz")


def _entity(name: str, user: dict) -> atom.Entity:
    content = {"roles": user.get("roles", []), "realname": user.get("realname", ""),
               "email": user.get("email", ""), "defaultApp": user.get("defaultApp", "launcher"),
               "tz": user.get("tz", ""), "type": "Splunk", "locked-out": "0",
               "capabilities": []}  # fmt: skip
    return atom.Entity(name, "authentication/users", content, owner="nobody", app="system")


def list_users(api: Splunkd, call: Call) -> Response:
    entities = [_entity(n, u) for n, u in api.auth.users().items()]
    return api.listing(call, "users", entities)


def get_user(api: Splunkd, call: Call) -> Response:
    name = call.args["name"].lower()
    user = api.auth.users().get(name)
    if user is None:
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "users", [_entity(name, user)])


def create_user(api: Splunkd, call: Call) -> Response:
    name, password = (call.get("name") or "").lower(), call.get("password")
    for arg, given in (("name", name), ("password", password)):
        if not given:
            raise ApiError(400, f"In handler 'users': Missing required argument: {arg}")
    roles = [r for value in call.params.get("roles", []) for r in value.split(",") if r.strip()]
    if not roles:
        raise ApiError(400, "In handler 'users': Missing required argument: roles")
    details = {k: call.get(k) for k in DETAILS if call.get(k) is not None}
    try:
        api.auth.add_user(name, password, [r.strip() for r in roles], **details)
    except KeyError:
        raise ApiError(409, f"In handler 'users': User with name={name} already exists") from None
    except ValueError as exc:
        raise ApiError(400, f"In handler 'users': {exc}") from None
    return api.feed(call, "users", [_entity(name, api.auth.users()[name])], 201)


def delete_user(api: Splunkd, call: Call) -> Response:
    name = call.args["name"].lower()
    if name == api.auth.username:
        raise ApiError(400, f"In handler 'users': Cannot remove user '{name}'.")
    if not api.auth.remove_user(name):
        raise ApiError(404, f"Could not find object id={name}")
    return list_users(api, call)
