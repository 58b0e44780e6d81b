"""Search results in splunkd's output modes: json, json_rows, json_cols, csv, xml and raw.

All field values leave as strings (multivalue fields as lists of strings), every JSON document
sits on one line (``splunklib.results.JSONResultsReader`` reads line by line), and ``_time`` is
written the way Splunk writes it: ``2024-01-01T00:00:00.000+00:00``.

>>> body = render(["user"], [{"user": "alice"}], "json")
>>> body.splitlines()[0].startswith('{"preview":false')
True
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from xml.sax.saxutils import escape

from labstack.splunk.spl.timeutil import iso

MODES = ("json", "json_rows", "json_cols", "csv", "xml", "raw")
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "json_rows": "application/json; charset=utf-8",
    "json_cols": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
    "raw": "text/plain; charset=utf-8",
}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def splunk_time(epoch: float) -> str:
    """Epoch seconds as Splunk prints ``_time`` (UTC): ``2024-01-01T00:00:00.000+00:00``."""
    return iso(float(epoch))


def as_text(field: str, value):
    """A result value as Splunk serialises it: text, or a list of texts for multivalue."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        values = [as_text(field, v) for v in value if v is not None]
        return values[0] if len(values) == 1 else values
    if field in ("_time", "earliest", "latest", "_indextime") and isinstance(value, int | float):
        return splunk_time(value) if field == "_time" else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return splunk_time(value.timestamp())
    return str(value)


def clean_rows(fields: list[str], rows: Iterable[dict]) -> list[dict]:
    """Rows with text values, fields in ``fields`` order, empty values left out (as Splunk does)."""
    out = []
    for row in rows:
        clean = {}
        for name in fields:
            value = as_text(name, row.get(name))
            if value is None or value == []:
                continue
            clean[name] = value
        out.append(clean)
    return out


def normalise_messages(messages) -> list[tuple[str, str]]:
    """Engine messages as ``(type, text)`` pairs, whatever shape the engine used."""
    out = []
    for message in messages or []:
        if isinstance(message, dict):
            out.append((str(message.get("type", "INFO")), str(message.get("text", ""))))
        elif isinstance(message, list | tuple) and len(message) == 2:
            out.append((str(message[0]), str(message[1])))
        else:
            out.append(("INFO", str(message)))
    return out


def render(
    fields: list[str],
    rows: list[dict],
    mode: str = "xml",
    messages: list[tuple[str, str]] = (),
    preview: bool = False,
    offset: int = 0,
) -> str:
    """One results document (job results, results_preview, events, oneshot)."""
    msgs = [{"type": t, "text": text} for t, text in messages]
    if mode == "json":
        return _dumps(
            {
                "preview": preview,
                "init_offset": offset,
                "messages": msgs,
                "fields": [{"name": f} for f in fields],
                "results": rows,
                "highlighted": {},
            }
        )
    if mode == "json_rows":
        return _dumps(
            {
                "preview": preview,
                "init_offset": offset,
                "messages": msgs,
                "fields": fields,
                "rows": [[row.get(f) for f in fields] for row in rows],
            }
        )
    if mode == "json_cols":
        return _dumps(
            {
                "preview": preview,
                "init_offset": offset,
                "messages": msgs,
                "fields": fields,
                "columns": [[row.get(f) for row in rows] for f in fields],
            }
        )
    if mode == "csv":
        return _csv(fields, rows)
    if mode == "raw":
        return "".join(f"{row.get('_raw', '')}\n" for row in rows)
    return _xml(fields, rows, messages, preview)


def export_lines(
    fields: list[str], rows: list[dict], mode: str, messages: list[tuple[str, str]] = ()
) -> Iterator[str]:
    """The export endpoint's stream: one JSON object per result line (``output_mode=json``)."""
    if mode == "json":
        if messages:
            found = [{"type": t, "text": x} for t, x in messages]
            yield _dumps({"preview": False, "messages": found}) + "\n"
        if not rows:  # splunkd still ends the stream with a last row, one without a result
            yield _dumps({"preview": False, "lastrow": True}) + "\n"
            return
        last = len(rows) - 1
        for i, row in enumerate(rows):
            doc = {"preview": False, "offset": i}
            if i == last:
                doc["lastrow"] = True
            doc["result"] = row
            yield _dumps(doc) + "\n"
        return
    if mode in ("json_rows", "json_cols"):
        yield render(fields, rows, mode, messages) + "\n"
        return
    yield render(fields, rows, mode, messages)


def _csv(fields: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(
            [
                "\n".join(v) if isinstance(v, list) else (v or "")
                for v in (row.get(f) for f in fields)
            ]
        )
    return buffer.getvalue()


def _attr(value: str) -> str:
    """An XML attribute value in single quotes, as splunkd writes them."""
    return "'" + escape(value, {"'": "&apos;", '"': "&quot;"}) + "'"


def _xml(fields: list[str], rows: list[dict], messages, preview: bool) -> str:
    out = [f"<?xml version='1.0' encoding='UTF-8'?>\n<results preview='{int(preview)}'>\n<meta>\n"]
    out.append("<fieldOrder>\n")
    out.extend(f"<field>{escape(f)}</field>\n" for f in fields)
    out.append("</fieldOrder>\n</meta>\n")
    if messages:
        out.append("<messages>\n")
        out.extend(f"<msg type={_attr(t)}>{escape(text)}</msg>\n" for t, text in messages)
        out.append("</messages>\n")
    for i, row in enumerate(rows):
        out.append(f"\t<result offset='{i}'>\n")
        for name, value in row.items():
            out.append(f"\t\t<field k={_attr(name)}>\n")
            if name == "_raw":
                out.append(f"\t\t\t<v xml:space='preserve' trunc='0'>{escape(str(value))}</v>\n")
            else:
                for v in value if isinstance(value, list) else [value]:
                    out.append(f"\t\t\t<value><text>{escape(str(v))}</text></value>\n")
            out.append("\t\t</field>\n")
        out.append("\t</result>\n")
    out.append("</results>\n")
    return "".join(out)
