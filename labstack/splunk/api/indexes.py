"""Indexes (``data/indexes``) and the simple receiver (``receivers/simple``, ``index.submit``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from xml.sax.saxutils import escape as _escape

from werkzeug.wrappers import Response

from labstack.splunk import atom, results
from labstack.splunk.api.core import XML, ApiError, Call, Splunkd

_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _index_entity(name: str, info: dict | None) -> atom.Entity:
    info = info or {}
    content = {
        "datatype": "event",
        "defaultDatabase": "main",
        "disabled": "0",
        "frozenTimePeriodInSecs": "188697600",
        "homePath": f"$SPLUNK_DB/{name}/db",
        "coldPath": f"$SPLUNK_DB/{name}/colddb",
        "thawedPath": f"$SPLUNK_DB/{name}/thaweddb",
        "isInternal": "1" if name.startswith("_") else "0",
        "maxTotalDataSizeMB": "500000",
        "totalEventCount": "0",
        "currentDBSizeMB": "0",
        "minTime": "",
        "maxTime": "",
    }
    for key, value in info.items():
        if key in ("minTime", "maxTime") and isinstance(value, int | float):
            value = _index_time(value)
        content[key] = results.as_text(key, value) if value is not None else ""
    return atom.Entity(name, "data/indexes", content, owner="nobody", app="system")


def _index_time(epoch: float) -> str:
    """An index's first or last event time; "" for one no calendar holds."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    except (ValueError, OverflowError, OSError):
        return ""


def list_indexes(api: Splunkd, call: Call) -> Response:
    indexes = api.store.indexes()
    entities = [_index_entity(n, indexes[n]) for n in sorted(indexes)]
    return api.listing(call, "indexes", entities)


def get_index(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    indexes = api.store.indexes()
    if name not in indexes:
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "indexes", [_index_entity(name, indexes[name])])


def create_index(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'indexes': Missing required argument: name")
    if not _INDEX_NAME.match(name):
        raise ApiError(
            400,
            f"In handler 'indexes': Index name={name}, Must begin with a letter or number and "
            "contain only lowercase letters, numbers, underscores or hyphens.",
        )
    if name in api.store.indexes():
        raise ApiError(409, f"In handler 'indexes': Index {name} already exists.")
    api.store.create_index(name)
    api.indexes_changed()
    return api.feed(call, "indexes", [_index_entity(name, api.store.indexes().get(name))], 201)


def update_index(api: Splunkd, call: Call) -> Response:
    return get_index(api, call)


def delete_index(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if name not in api.store.indexes():
        raise ApiError(404, f"Could not find object id={name}")
    try:
        api.store.delete_index(name)
    except (ValueError, KeyError) as exc:
        raise ApiError(400, f"In handler 'indexes': {exc}") from None
    api.indexes_changed()
    return api.feed(call, "indexes", [])


def receivers_simple(api: Splunkd, call: Call) -> Response:
    data = call.request.get_data(cache=False)
    if not data.strip():
        raise ApiError(400, "No data")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # what http.client sends for a str body
    index = call.get("index") or "main"
    if index not in api.known_indexes:
        raise ApiError(400, f"Index '{index}' does not exist.")
    event = {
        "_time": time.time(),
        "index": index,
        "host": call.get("host") or api.server_name,
        "source": call.get("source") or "http-simple",
        "sourcetype": call.get("sourcetype") or "http-simple",
        "_raw": text.rstrip("\r\n"),
    }
    api.store.add([event])
    fields = {
        "_index": index,
        "bytes": str(len(data)),
        "host": event["host"],
        "source": event["source"],
        "sourcetype": event["sourcetype"],
    }
    inner = "".join(
        f"<field k='{k}'><value><text>{_escape(v)}</text></value></field>"
        for k, v in fields.items()
    )
    body = f"{atom.XML_DECL}<response><results><result>{inner}</result></results></response>"
    return Response(body, content_type=XML)
