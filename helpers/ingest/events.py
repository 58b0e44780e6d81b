"""CloudTrail log files -> HEC events: one line of JSON per record, ``event`` last.

The hot path of the input: each record's own JSON text is embedded as it is in the file (no
parse-and-serialise round trip), ``time`` is ``eventTime`` in epoch seconds. A file written as
CloudTrail writes it (compact, one gzip member) is parsed by orjson in C and its records' texts
are orjson's, checked to be the file's own byte for byte; any other file is scanned by the
standard library, record by record, for the same texts; anything unusual (several gzip members,
JSON lines, pretty-printing) falls back to :func:`helpers.cloudtrail.parse_log` and its error
messages.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson

from helpers import cloudtrail
from helpers.ingest.notifications import S3Object

__all__ = ["SOURCETYPE", "hec_lines"]

SOURCETYPE = "aws:cloudtrail"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


_scan = json.JSONDecoder(parse_constant=_reject_constant).scan_once
_HEAD = re.compile(r'[ \t\n\r]*\{[ \t\n\r]*"Records"[ \t\n\r]*:[ \t\n\r]*\[[ \t\n\r]*')
_NEXT = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_TAIL = re.compile(r"[ \t\n\r]*\}[ \t\n\r]*\Z")
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _scan_records(text: str):
    """(record, its text) pairs of a ``{"Records": [...]}`` document, or None if it is not
    exactly that shape (the caller then lets :func:`cloudtrail.parse_log` decide).

    Embedding each record's own text saves serialising it again, which is most of the work.
    """
    head = _HEAD.match(text)
    if head is None:
        return None
    pos, out = head.end(), []
    if text.startswith("]", pos):
        return out if _TAIL.match(text, pos + 1) else None
    append, next_ = out.append, _NEXT.match
    while True:
        try:
            record, end = _scan(text, pos)
        except (ValueError, StopIteration, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        append((record, text[pos:end]))
        sep = next_(text, end)
        if sep is None:
            return None
        pos = sep.end()
        if sep.group(1) == "]":
            return out if _TAIL.match(text, pos) else None


def _fast_records(text: bytes) -> list[tuple[dict, bytes]] | None:
    """(record, its text) pairs parsed by orjson, for a file written as CloudTrail writes it:
    compact ``{"Records":[...]}`` whose every record is exactly what orjson writes back (checked
    byte for byte, so each text is the file's own). None: the general path must decide."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    records = document.get("Records") if type(document) is dict and len(document) == 1 else None
    if type(records) is not list or not all(type(record) is dict for record in records):
        return None
    texts = [orjson.dumps(record) for record in records]
    if b'{"Records":[' + b",".join(texts) + b"]}" != text.strip():
        return None  # spacing, escapes or number forms of its own: keep the file's text
    return list(zip(records, texts, strict=True))


def _epoch(event_time: Any, cache: dict) -> str | None:
    text = cache.get(event_time)
    if text is None and event_time not in cache:
        try:
            moment = datetime.fromisoformat(event_time)
        except (TypeError, ValueError):
            text = None
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            stamp = moment.timestamp()
            text = str(int(stamp)) if stamp == int(stamp) else repr(stamp)
        cache[event_time] = text
    return text


def hec_lines(
    data: bytes, obj: S3Object, *, index: str, host: str, sourcetype: str = SOURCETYPE
) -> list[bytes]:
    """One HEC event (one line of JSON, ``event`` last) per record of a log file's bytes.

    Raises :class:`cloudtrail.CorruptLogError` for a file that cannot be read whole.

    >>> hec_lines(b'{"Records": [{"eventTime": "2026-11-02T14:01:02Z", "eventName": "X"}]}',
    ...           S3Object("b", "k.json"), index="main", host="h")
    [b'{"time":1793628062,"host":"h","source":"s3://b/k.json","sourcetype":"aws:cloudtrail",\
"index":"main","event":{"eventTime": "2026-11-02T14:01:02Z", "eventName": "X"}}']
    """
    meta = (
        f',"host":{_compact(host)},"source":{_compact(obj.uri)},'
        f'"sourcetype":{_compact(sourcetype)},"index":{_compact(index)},"event":'
    )
    pairs = None
    try:
        raw = data
        if raw[:2] == cloudtrail.GZIP_MAGIC:
            # One pass in C, CRC checked; several gzip members go the reader's way.
            inflate = zlib.decompressobj(31)
            raw = inflate.decompress(raw)
            if not inflate.eof or inflate.unused_data:
                raise ValueError("not a single gzip member")
        pairs = _fast_records(raw.removeprefix(b"\xef\xbb\xbf"))
        if pairs is None:
            pairs = _scan_records(raw.decode("utf-8-sig"))
    except (OSError, EOFError, ValueError, zlib.error, RecursionError):
        pairs = None
    if pairs is None:  # anything unusual: the reader's rules and error messages
        try:
            records = cloudtrail.parse_log(data, obj.key)
            pairs = [(record, _compact(record)) for record in records]
        except ValueError as exc:  # CorruptLogError, or NaN/Infinity that HEC would refuse
            if isinstance(exc, cloudtrail.CorruptLogError):
                raise
            raise cloudtrail.CorruptLogError(f"not valid JSON for HEC: {exc}") from exc
    cache: dict = {}
    lines = []
    append = lines.append
    for record, text in pairs:
        if type(text) is str:
            if "\n" in text or "\r" in text:  # pretty-printed: one event per line
                text = _compact(record)
            text = text.encode()
        stamp = _epoch(record.get("eventTime"), cache)
        head = '{"time":' + stamp + meta if stamp is not None else "{" + meta[1:]
        append(head.encode() + text + b"}")
    return lines
