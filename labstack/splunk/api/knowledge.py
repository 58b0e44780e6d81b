"""Knowledge objects: search macros (``configs/conf-macros``, ``admin/macros``,
``properties/macros``) and lookup table files (``data/lookup-table-files``)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from werkzeug.wrappers import Response

from labstack.splunk import atom
from labstack.splunk.api.core import (
    ApiError,
    Call,
    Splunkd,
    acl_request,
    namespace_of,
    one_of,
    placed,
)
from labstack.splunk.namespace import describe, identity
from labstack.splunk.spl import SPLError
from labstack.splunk.store import Macro

#: What macros.conf keeps beside a definition and its arguments, with splunkd's defaults.
MACRO_FIELDS = {"iseval": "0", "validation": "", "errormsg": "", "description": "",
                "disabled": "0"}  # fmt: skip
_MACRO_FLAGS = ("iseval", "disabled")


def _macro_entity(macro: Macro, collection: str) -> atom.Entity:
    content = {"definition": macro.definition, "args": ",".join(macro.args)}
    content.update({k: macro.meta.get(k, default) for k, default in MACRO_FIELDS.items()})
    content["eai:attributes"] = {
        "optionalFields": ["args", *MACRO_FIELDS], "requiredFields": ["definition"],
        "wildcardFields": [],
    }  # fmt: skip
    return atom.Entity(
        macro.name, collection, content, owner=macro.owner, app=macro.app,
        sharing=macro.sharing, perms=macro.meta.get("perms"),
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


def _set_macro(
    api: Splunkd,
    name: str,
    definition: str,
    args: str | None,
    where: tuple[str, str, str],
    meta: dict,
    exists: bool,
) -> Macro:
    """Store a macro's definition and arguments at ``where`` (owner, app, sharing), ``meta``
    over what it keeps; one there already (``exists`` False: a create) is a 409, one gone
    meanwhile (``exists`` True: an edit) a 404."""
    arg_names = tuple(a.strip() for a in (args or "").split(",") if a.strip())
    match = re.fullmatch(r"(.+)\((\d+)\)", name)
    if arg_names and (match is None or int(match.group(2)) != len(arg_names)):
        raise ApiError(
            400,
            f"In handler 'macros': macro '{name}' has {len(arg_names)} argument(s); its name "
            f"must end with ({len(arg_names)}).",
        )
    owner, app, sharing = where
    try:
        return api.store.set_macro(
            name, definition, args=arg_names, owner=owner, app=app, sharing=sharing, meta=meta,
            exists=exists,
        )  # fmt: skip
    except KeyError:
        if exists:
            raise ApiError(404, f"Could not find object id={name}") from None
        raise ApiError(
            409, f"In handler 'macros': An object with name={name} already exists"
        ) from None  # fmt: skip
    except (ValueError, SPLError) as exc:
        raise ApiError(400, f"In handler 'macros': {exc}") from None


def list_macros(api: Splunkd, call: Call) -> Response:
    collection = _macro_collection(call)
    found = namespace_of(call).visible(api.store.macro_objects())
    return api.listing(call, "conf-macros", [_macro_entity(m, collection) for m in found])


def create_macro(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'macros': Missing required argument: name")
    where = namespace_of(call).home()
    if any(m.key == identity(name, *where) for m in api.store.macro_objects()):
        raise ApiError(409, f"In handler 'macros': An object with name={name} already exists")
    definition = call.get("definition")
    if definition is None:
        raise ApiError(400, "In handler 'macros': Missing required argument: definition")
    fields = _macro_fields(call)  # a macro made again starts from the defaults
    macro = _set_macro(api, name, definition, call.get("args"), where, fields, exists=False)
    entity = _macro_entity(macro, _macro_collection(call))
    return api.feed(call, "conf-macros", [entity], 201)


def _macro_matches(api: Splunkd, call: Call) -> list[Macro]:
    """The macros the path names that its namespace sees (several only with ``-``)."""
    name = call.args["name"]
    found = namespace_of(call).named(api.store.macro_objects(), name)
    if not found:
        raise ApiError(404, f"Could not find object id={name}")
    return found


def _macro_or_404(api: Splunkd, call: Call) -> Macro:
    return one_of(_macro_matches(api, call), call, "macros")


def get_macro(api: Splunkd, call: Call) -> Response:
    collection = _macro_collection(call)
    entities = [_macro_entity(m, collection) for m in _macro_matches(api, call)]
    return api.feed(call, "conf-macros", entities)


def update_macro(api: Splunkd, call: Call) -> Response:
    macro = _macro_or_404(api, call)
    if "name" in call.params:
        raise ApiError(
            400, "In handler 'macros': Argument \"name\" is not supported by this handler."
        )
    fields = _macro_fields(call)
    definition = call.get("definition", macro.definition)
    args = call.get("args", ",".join(macro.args))
    where = (macro.owner, macro.app, macro.sharing)
    macro = _set_macro(api, macro.name, definition, args, where, fields, exists=True)
    return api.feed(call, "conf-macros", [_macro_entity(macro, _macro_collection(call))])


def delete_macro(api: Splunkd, call: Call) -> Response:
    macro = _macro_or_404(api, call)
    api.store.delete_macro(macro.name, macro.owner, macro.app, macro.sharing)
    return api.feed(call, "conf-macros", [])


def macro_acl(api: Splunkd, call: Call) -> Response:
    """``<macro>/acl``: owner and sharing (both required), ``perms.read``/``perms.write``."""
    macro = _macro_or_404(api, call)
    owner, sharing, perms = acl_request(call, "macros", macro.meta.get("perms"))
    (app,) = placed(call, "macros", "app")
    moved = replace(macro, owner=owner, sharing=sharing, app=app or macro.app,
                    meta={**macro.meta, "perms": perms or None})  # fmt: skip
    try:
        api.store.replace_macro(macro.key, moved)
    except KeyError:
        raise ApiError(
            409, f"In handler 'macros': An object with name={macro.name} already exists there "
            f"({describe(moved)})."
        ) from None  # fmt: skip
    return api.feed(call, "conf-macros", [_macro_entity(moved, _macro_collection(call))])


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
