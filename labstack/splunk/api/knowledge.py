"""Knowledge objects: search macros (``configs/conf-macros``, ``admin/macros``,
``properties/macros``) and lookup table files (``data/lookup-table-files``)."""

from __future__ import annotations

import re
from pathlib import Path

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import ApiError, Call, Splunkd
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


def _macro_entity(name: str, macro: dict, collection: str) -> atom.Entity:
    content = {
        "definition": macro["definition"],
        "args": macro["args"],
        "iseval": "0",
        "validation": "",
        "errormsg": "",
        "description": "",
        "disabled": "0",
    }
    return atom.Entity(name, collection, content, owner="nobody", app="search", sharing="app")


def _macro_collection(call: Call) -> str:
    return "admin/macros" if call.segments[0] == "admin" else "configs/conf-macros"


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
    entities = [_macro_entity(n, m, collection) for n, m in sorted(_macros(api).items())]
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
    _set_macro(api, name, definition, call.get("args"))
    macro = _macros(api)[name]
    return api.feed(call, "conf-macros", [_macro_entity(name, macro, _macro_collection(call))], 201)


def _macro_or_404(api: Splunkd, call: Call) -> tuple[str, dict]:
    name = call.args["name"]
    macro = _macros(api).get(name)
    if macro is None:
        raise ApiError(404, f"Could not find object id={name}")
    return name, macro


def get_macro(api: Splunkd, call: Call) -> Response:
    name, macro = _macro_or_404(api, call)
    return api.feed(call, "conf-macros", [_macro_entity(name, macro, _macro_collection(call))])


def update_macro(api: Splunkd, call: Call) -> Response:
    name, macro = _macro_or_404(api, call)
    definition = call.get("definition", macro["definition"])
    _set_macro(api, name, definition, call.get("args", macro["args"]))
    macro = _macros(api)[name]
    return api.feed(call, "conf-macros", [_macro_entity(name, macro, _macro_collection(call))])


def delete_macro(api: Splunkd, call: Call) -> Response:
    name, _ = _macro_or_404(api, call)
    remove = getattr(api.store, "delete_macro", None)
    if remove is None:
        raise ApiError(400, "In handler 'macros': deleting macros is not supported here.")
    remove(name)
    return api.feed(call, "conf-macros", [])


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
