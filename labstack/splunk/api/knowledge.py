"""Knowledge objects: search macros (``configs/conf-macros``, ``admin/macros``,
``properties/macros``) and lookup table files (``data/lookup-table-files``)."""

from __future__ import annotations

import re
from pathlib import Path

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import ApiError, Call, Splunkd, acl_request
from labstack.splunk.spl import SPLError


def _macros(api: Splunkd) -> dict[str, dict]:
    out = {}
    for name, value in api.store.macros().items():
        if isinstance(value, dict):
            definition = value.get("definition", "")
            args = value.get("args", ())
        elif isinstance(value, list | tuple):
            definition, args = (value[0], value[1]) if len(value) == 2 else (value[0], ())
        else:
            definition, args = value, ()
        if isinstance(args, str):
            args = [a for a in args.split(",") if a]
        out[name] = {"definition": definition, "args": ",".join(args)}
    return out


#: What macros.conf keeps beside a definition and its arguments, with splunkd's defaults.
MACRO_FIELDS = {"iseval": "0", "validation": "", "errormsg": "", "description": "",
                "disabled": "0"}  # fmt: skip
_MACRO_FLAGS = ("iseval", "disabled")


def _macro_entity(api: Splunkd, name: str, macro: dict, collection: str) -> atom.Entity:
    meta = api.macro_meta.get(name)
    content = {"definition": macro["definition"], "args": macro["args"]}
    content.update({k: meta.get(k, default) for k, default in MACRO_FIELDS.items()})
    content["eai:attributes"] = {
        "optionalFields": ["args", *MACRO_FIELDS], "requiredFields": ["definition"],
        "wildcardFields": [],
    }  # fmt: skip
    return atom.Entity(
        name, collection, content, owner=meta.get("owner", "nobody"),
        app=meta.get("app", "search"), sharing=meta.get("sharing", "app"),
        perms=meta.get("perms"),
    )  # fmt: skip


def _macro_collection(call: Call) -> str:
    return "admin/macros" if call.segments[0] == "admin" else "configs/conf-macros"


def _macro_fields(call: Call) -> dict[str, str]:
    """The macros.conf keys a request sets (``iseval``/``disabled`` read as booleans)."""
    values = {k: call.get(k) for k in MACRO_FIELDS if call.get(k) is not None}
    for key in _MACRO_FLAGS:
        if key in values:
            text = values[key].strip().lower()
            if text not in ("1", "0", "true", "false", "t", "f"):
                raise ApiError(
                    400, f"In handler 'macros': Argument '{key}' must be a boolean, got "
                    f"'{values[key]}'."
                )  # fmt: skip
            values[key] = "1" if text in ("1", "true", "t") else "0"
    return values


def _set_macro(api: Splunkd, name: str, definition: str, args: str | None) -> None:
    arg_names = tuple(a.strip() for a in (args or "").split(",") if a.strip())
    match = re.fullmatch(r"(.+)\((\d+)\)", name)
    if arg_names and (match is None or int(match.group(2)) != len(arg_names)):
        raise ApiError(
            400,
            f"In handler 'macros': macro '{name}' has {len(arg_names)} argument(s); its name "
            f"must end with ({len(arg_names)}).",
        )
    try:
        api.store.set_macro(name, definition, args=arg_names)
    except (ValueError, SPLError) as exc:
        raise ApiError(400, f"In handler 'macros': {exc}") from None


def list_macros(api: Splunkd, call: Call) -> Response:
    collection = _macro_collection(call)
    entities = [_macro_entity(api, n, m, collection) for n, m in sorted(_macros(api).items())]
    return api.listing(call, "conf-macros", entities)


def create_macro(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'macros': Missing required argument: name")
    if name in _macros(api):
        raise ApiError(409, f"In handler 'macros': An object with name={name} already exists")
    definition = call.get("definition")
    if definition is None:
        raise ApiError(400, "In handler 'macros': Missing required argument: definition")
    fields = _macro_fields(call)
    _set_macro(api, name, definition, call.get("args"))
    api.macro_meta.forget(name)  # a macro made again starts from the defaults
    owner = call.owner if call.owner not in (None, "-") else "nobody"
    app = call.app if call.app not in (None, "-") else "search"
    api.macro_meta.update(name, {**fields, "owner": owner, "app": app, "sharing": "app"})
    macro = _macros(api)[name]
    entity = _macro_entity(api, name, macro, _macro_collection(call))
    return api.feed(call, "conf-macros", [entity], 201)


def _macro_or_404(api: Splunkd, call: Call) -> tuple[str, dict]:
    name = call.args["name"]
    macro = _macros(api).get(name)
    if macro is None:
        raise ApiError(404, f"Could not find object id={name}")
    return name, macro


def get_macro(api: Splunkd, call: Call) -> Response:
    name, macro = _macro_or_404(api, call)
    entity = _macro_entity(api, name, macro, _macro_collection(call))
    return api.feed(call, "conf-macros", [entity])


def update_macro(api: Splunkd, call: Call) -> Response:
    name, macro = _macro_or_404(api, call)
    if "name" in call.params:
        raise ApiError(
            400, "In handler 'macros': Argument \"name\" is not supported by this handler."
        )
    fields = _macro_fields(call)
    definition = call.get("definition", macro["definition"])
    _set_macro(api, name, definition, call.get("args", macro["args"]))
    if fields:
        api.macro_meta.update(name, fields)
    macro = _macros(api)[name]
    entity = _macro_entity(api, name, macro, _macro_collection(call))
    return api.feed(call, "conf-macros", [entity])


def delete_macro(api: Splunkd, call: Call) -> Response:
    name, _ = _macro_or_404(api, call)
    api.store.delete_macro(name)
    api.macro_meta.forget(name)
    return api.feed(call, "conf-macros", [])


def macro_acl(api: Splunkd, call: Call) -> Response:
    """``<macro>/acl``: owner and sharing (both required), ``perms.read``/``perms.write``."""
    name, macro = _macro_or_404(api, call)
    owner, sharing, perms = acl_request(call, "macros", api.macro_meta.get(name).get("perms"))
    changes = {"owner": owner, "sharing": sharing, "perms": perms or None}
    if call.get("app"):
        changes["app"] = call.get("app")
    api.macro_meta.update(name, changes)
    entity = _macro_entity(api, name, macro, _macro_collection(call))
    return api.feed(call, "conf-macros", [entity])


def list_conf_files(api: Splunkd, call: Call) -> Response:
    entity = atom.Entity("macros", "properties", {}, owner="nobody", app="search")
    return api.listing(call, "properties", [entity])


def _lookup_entity(api: Splunkd, name: str) -> atom.Entity:
    content = {
        "eai:data": f"$SPLUNK_HOME/etc/apps/search/lookups/{name}",
        "eai:appName": "search",
        "eai:userName": "nobody",
    }
    return atom.Entity(name, "data/lookup-table-files", content, owner="nobody", app="search",
                       sharing="app")  # fmt: skip


def list_lookups(api: Splunkd, call: Call) -> Response:
    entities = [_lookup_entity(api, n) for n in sorted(api.store.lookups())]
    return api.listing(call, "lookup-table-files", entities)


def get_lookup(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if name not in api.store.lookups():
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "lookup-table-files", [_lookup_entity(api, name)])


def upload_lookup(api: Splunkd, call: Call) -> Response:
    """Splunk's two-step upload: the CSV is staged under ``lookup_tmp``, then named here."""
    name = call.args.get("name") or call.get("name")
    staged = call.get("eai:data")
    if not name:
        raise ApiError(400, "In handler 'lookup-table-files': Missing required argument: name")
    if not staged:
        raise ApiError(400, "In handler 'lookup-table-files': Missing required argument: eai:data")
    staging = api.lookup_staging.resolve()
    path = Path(staged).resolve()
    if staging not in path.parents or not path.is_file():
        raise ApiError(
            400,
            f"In handler 'lookup-table-files': The lookup table file must be staged under "
            f"{staging}: {staged}",
        )
    creating = "name" not in call.args
    if creating and name in api.store.lookups():
        raise ApiError(
            409, f"In handler 'lookup-table-files': An object with name={name} already exists"
        )
    try:
        api.store.put_lookup(name, path.read_text(encoding="utf-8"))
    except (ValueError, SPLError) as exc:
        raise ApiError(400, f"In handler 'lookup-table-files': {exc}") from None
    path.unlink(missing_ok=True)
    return api.feed(
        call, "lookup-table-files", [_lookup_entity(api, name)], 201 if creating else 200
    )


def delete_lookup(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if name not in api.store.lookups():
        raise ApiError(404, f"Could not find object id={name}")
    remove = getattr(api.store, "delete_lookup", None)
    if remove is None:
        raise ApiError(
            400, "In handler 'lookup-table-files': deleting lookups is not supported here."
        )
    remove(name)
    return api.feed(call, "lookup-table-files", [])
