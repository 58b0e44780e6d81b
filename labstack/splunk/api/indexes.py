"""Indexes (``data/indexes``: list, create, edit, enable/disable, delete) and the receivers:
``receivers/simple`` (``index.submit``: one event per request) and ``receivers/stream``
(``index.attach``: a connection that streams lines, one event each, until the client closes)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from xml.sax.saxutils import escape as _escape

from werkzeug.wrappers import Response

from labstack.splunk import atom, results
from labstack.splunk.api.core import XML, ApiError, Call, Splunkd
from labstack.splunk.index_conf import BUILT_IN, EDITABLE

_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Bytes one ``receivers/stream`` connection may send (the lab's events are small).
STREAM_LIMIT = 64 * 1024 * 1024


def _index_entity(api: Splunkd, name: str, info: dict | None) -> atom.Entity:
    info = info or {}
    content = {
        "assureUTF8": "0",
        "blockSignSize": "0",
        "bucketRebuildMemoryHint": "auto",
        "coldToFrozenDir": "",
        "enableOnlineBucketRepair": "1",
        "maxDataSize": "auto",
        "maxHotBuckets": "auto",
        "maxHotIdleSecs": "0",
        "maxHotSpanSecs": "7776000",
        "maxWarmDBCount": "300",
        "quarantineFutureSecs": "2592000",
        "quarantinePastSecs": "77760000",
        "repFactor": "0",
        "rotatePeriodInSecs": "60",
        "sync": "0",
        "syncMeta": "1",
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
    content.update(api.index_conf.get(name))
    content["eai:attributes"] = {"optionalFields": list(EDITABLE), "requiredFields": [],
                                 "wildcardFields": []}  # fmt: skip
    return atom.Entity(name, "data/indexes", content, owner="nobody", app="system")


def _index_time(epoch: float) -> str:
    """An index's first or last event time; "" for one no calendar holds."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    except (ValueError, OverflowError, OSError):
        return ""


def list_indexes(api: Splunkd, call: Call) -> Response:
    indexes = api.store.indexes()
    entities = [_index_entity(api, n, indexes[n]) for n in sorted(indexes)]
    return api.listing(call, "indexes", entities)


def get_index(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    indexes = api.store.indexes()
    if name not in indexes:
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "indexes", [_index_entity(api, name, indexes[name])])


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
    if name in api.store.index_names():
        raise ApiError(409, f"In handler 'indexes': Index {name} already exists.")
    settings = _settings(call, skip=("name",))
    api.store.create_index(name)
    api.index_conf.forget(name)  # a new index starts from the defaults
    if settings:
        api.index_conf.update(name, settings)
    api.indexes_changed()
    entity = _index_entity(api, name, api.store.indexes().get(name))
    return api.feed(call, "indexes", [entity], 201)


def _settings(call: Call, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """The indexes.conf keys a request sets; any other argument is a 400, as in splunkd."""
    given = call.flat(skip=("output_mode", *skip))
    for key in given:
        if key not in EDITABLE:
            raise ApiError(400, f'Argument "{key}" is not supported by this handler.')
    if "disabled" in given:
        given["disabled"] = _flag("disabled", given["disabled"])
    return given


def _flag(name: str, value: str) -> str:
    if value in ("1", "true", "True", "t"):
        return "1"
    if value in ("0", "false", "False", "f"):
        return "0"
    raise ApiError(400, f"Argument '{name}' must be a boolean, got '{value}'.")


def _existing(api: Splunkd, call: Call) -> str:
    name = call.args["name"]
    if name not in api.store.index_names():
        raise ApiError(404, f"Could not find object id={name}")
    return name


def update_index(api: Splunkd, call: Call) -> Response:
    name = _existing(api, call)
    settings = _settings(call)
    if settings:
        api.index_conf.update(name, settings)
    return get_index(api, call)


def disable_index(api: Splunkd, call: Call) -> Response:
    name = _existing(api, call)
    if name in BUILT_IN:
        raise ApiError(400, f"In handler 'indexes': The index '{name}' cannot be disabled.")
    api.index_conf.update(name, {"disabled": "1"})
    return get_index(api, call)


def enable_index(api: Splunkd, call: Call) -> Response:
    name = _existing(api, call)
    api.index_conf.update(name, {"disabled": "0"})
    return get_index(api, call)


def delete_index(api: Splunkd, call: Call) -> Response:
    name = _existing(api, call)
    if name in BUILT_IN:
        raise ApiError(400, f"In handler 'indexes': The index '{name}' cannot be deleted.")
    try:
        api.store.delete_index(name)
    except (ValueError, KeyError) as exc:
        raise ApiError(400, f"In handler 'indexes': {exc}") from None
    api.index_conf.forget(name)
    api.indexes_changed()
    return api.feed(call, "indexes", [])


def _receiving_index(api: Splunkd, call: Call) -> str:
    index = call.get("index") or "main"
    if index not in api.known_indexes:
        raise ApiError(400, f"Index '{index}' does not exist.")
    if api.index_conf.disabled(index):
        raise ApiError(400, f"Index '{index}' is disabled.")
    return index


def receivers_stream(api: Splunkd, call: Call) -> Response:
    """``index.attach()``: a raw connection that streams text (no Content-Length) until the
    client closes it; each line is one event. A body with a length is read as sent."""
    index = _receiving_index(api, call)
    environ = call.request.environ
    if call.request.content_length is not None or environ.get("wsgi.input_terminated"):
        data = call.request.get_data(cache=False)
    else:
        data = _read_to_close(environ["wsgi.input"])
    text = data.decode("utf-8", "replace")
    now = time.time()
    events = [
        {"_time": now, "index": index, "host": call.get("host") or api.server_name,
         "source": call.get("source") or "tcp-raw", "sourcetype": call.get("sourcetype")
         or "tcp-raw", "_raw": line}
        for line in text.replace("\r\n", "\n").split("\n") if line.strip()
    ]  # fmt: skip
    api.store.add(events)
    return api.message(call, f"Received {len(events)} event(s).")


def _read_to_close(stream, limit: int = STREAM_LIMIT) -> bytes:
    """Everything the client sends until it closes (or ``limit`` bytes, or the read timeout)."""
    chunks, size = [], 0
    while size < limit:
        try:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        except (OSError, ValueError):  # the read timeout, a reset
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def receivers_simple(api: Splunkd, call: Call) -> Response:
    data = call.request.get_data(cache=False)
    if not data.strip():
        raise ApiError(400, "No data")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # what http.client sends for a str body
    index = _receiving_index(api, call)
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
