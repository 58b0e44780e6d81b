"""Read CloudTrail log files (from disk or S3) and flatten records to Splunk's field names.

:func:`flatten` is :func:`helpers.runtime.fields.flatten`, the one the local Splunk uses: a
name with ``{}`` (reached through an array) is always a list.

CloudTrail delivers ``{"Records": [...]}`` documents, gzip-compressed, under
``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``. The readers here yield the records one by
one, file after file in key order. A file that cannot be read whole (bad or truncated gzip,
invalid JSON, no ``Records`` list) yields nothing: it is logged as a warning, handed to
``on_error`` as a :class:`Skipped`, and the next file is read.

>>> from helpers import cloudtrail
>>> skipped = []
>>> trail = "data/sample_cloudtrail"
>>> records = list(cloudtrail.read_files(trail, on_error=skipped.append))  # doctest: +SKIP
>>> cloudtrail.flatten(records[0])["userIdentity.accessKeyId"]        # doctest: +SKIP
'AKIAIOSFODNN7EXAMPLE'
>>> frame = cloudtrail.to_frame(records)                             # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.runtime.fields import flatten

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LOG_SUFFIXES",
    "CorruptLogError",
    "Skipped",
    "flatten",
    "parse_log",
    "read_files",
    "read_s3",
    "to_frame",
]

log = logging.getLogger(__name__)

#: File names the directory walk and the S3 listing pick up; anything else there is ignored.
LOG_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
#: Names parsed as JSON lines (one record per line) even when they hold a single line.
JSON_LINES_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
#: Digest files (log file integrity validation) share the prefix but hold no records.
DIGEST_MARKER = "CloudTrail-Digest"
GZIP_MAGIC = b"\x1f\x8b"

Record = dict[str, Any]
OnError = Callable[["Skipped"], object]


class CorruptLogError(ValueError):
    """A log file that cannot be read whole; the message says what is wrong with it."""


@dataclass(frozen=True)
class Skipped:
    """A file the reader skipped: ``source`` is its path or ``s3://bucket/key``."""

    source: str
    reason: str


def parse_log(data: bytes, name: str = "<bytes>") -> list[Record]:
    """All records of one log file's bytes, or :class:`CorruptLogError` (nothing half-read).

    Accepts CloudTrail's ``{"Records": [...]}`` and JSON lines (one record per line), either
    plain or gzip-compressed (recognised by its magic bytes, not by the name).

    >>> parse_log(b'{"Records": [{"eventName": "StopLogging"}]}')
    [{'eventName': 'StopLogging'}]
    >>> parse_log(b'{"eventName": "A"}\\n{"eventName": "B"}\\n')
    [{'eventName': 'A'}, {'eventName': 'B'}]
    """
    lowered = name.lower()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except EOFError as exc:
            raise CorruptLogError(f"truncated gzip: {exc}") from exc
        except (OSError, zlib.error) as exc:
            raise CorruptLogError(f"corrupt gzip: {exc}") from exc
    elif lowered.endswith(".gz"):
        raise CorruptLogError("corrupt gzip: not a gzip file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptLogError(f"not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise CorruptLogError("empty file")
    if lowered.endswith(JSON_LINES_SUFFIXES):
        return _json_lines(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise CorruptLogError(f"invalid JSON: {exc}") from exc
        return _json_lines(text)  # several JSON values: one record per line
    return _records_of(doc)


def _records_of(doc: Any, where: str = "") -> list[Record]:
    records = doc.get("Records") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        raise CorruptLogError(f'not a CloudTrail log{where}: no "Records" list')
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise CorruptLogError(f"Records[{index}]{where} is not a JSON object")
    return records


def _json_lines(text: str) -> list[Record]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorruptLogError(f"invalid JSON on line {number}: {exc}") from exc
        if not isinstance(record, dict):
            raise CorruptLogError(f"line {number} is not a JSON object")
        if "Records" in record:  # a whole CloudTrail document per line (concatenated files)
            records.extend(_records_of(record, f" on line {number}"))
        else:
            records.append(record)
    return records


def _is_log_name(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES) and DIGEST_MARKER not in name


def _skip(source: str, reason: str, on_error: OnError | None) -> None:
    log.warning("skipped CloudTrail file %s: %s", source, reason)
    if on_error is not None:
        on_error(Skipped(source, reason))


def _files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Sorted by the path text, which is S3's key order for the same layout.
            found = (p for p in path.rglob("*") if p.is_file() and _is_log_name(p.name))
            yield from sorted(found, key=lambda p: p.as_posix())
        else:
            yield path  # a file named explicitly is read whatever its name


def read_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    on_error: OnError | None = None,
) -> Iterator[Record]:
    """Yield the records of log files and directories (walked recursively, in sorted order).

    A directory contributes its ``LOG_SUFFIXES`` files, except CloudTrail digest files. A file
    that cannot be read or parsed is logged, passed to ``on_error`` and skipped; raise from
    ``on_error`` to stop instead.

    >>> skipped = []
    >>> for record in read_files(["logs/", "extra.json.gz"], on_error=skipped.append):
    ...     print(record["eventName"])                               # doctest: +SKIP
    StartInstances
    >>> skipped                                                      # doctest: +SKIP
    [Skipped(source='logs/broken.json.gz', reason='truncated gzip: ...')]
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    for path in _files(paths):
        try:
            records = parse_log(path.read_bytes(), path.name)
        except (OSError, CorruptLogError) as exc:
            _skip(str(path), str(exc), on_error)
            continue
        yield from records


def read_s3(
    s3_client: Any,
    bucket: str,
    prefix: str = "AWSLogs/",
    *,
    start_after: str = "",
    on_error: OnError | None = None,
) -> Iterator[Record]:
    """Yield the records of the log objects under ``prefix`` in ``bucket``, in key order.

    ``s3_client`` is a boto3 S3 client (made by the caller, e.g. ``helpers.aws.session()``).
    Only keys ending in ``LOG_SUFFIXES`` are read, digest files excepted; ``start_after`` resumes
    after a key already read. Objects that cannot be fetched or parsed are logged, passed to
    ``on_error`` as ``Skipped("s3://bucket/key", reason)`` and skipped; listing errors raise.

    >>> s3 = session().client("s3")                                  # doctest: +SKIP
    >>> records = list(read_s3(s3, "lab-trail-123456789012"))        # doctest: +SKIP
    """
    from botocore.exceptions import BotoCoreError, ClientError

    listing: dict[str, str] = {"Bucket": bucket, "Prefix": prefix}
    if start_after:
        listing["StartAfter"] = start_after
    for page in s3_client.get_paginator("list_objects_v2").paginate(**listing):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not _is_log_name(key):
                continue
            source = f"s3://{bucket}/{key}"
            try:
                body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
                records = parse_log(body, key)
            except (ClientError, BotoCoreError, CorruptLogError) as exc:
                _skip(source, str(exc), on_error)
                continue
            yield from records


def to_frame(records: Iterable[Record]) -> pd.DataFrame:
    """A DataFrame of flattened records, with ``_time`` (UTC) parsed from ``eventTime`` first.

    Multivalue fields are Python lists in their cells; a record without ``eventTime`` gets NaT.

    >>> frame = to_frame(read_files("data/sample_cloudtrail"))       # doctest: +SKIP
    >>> frame.set_index("_time").resample("1min").size()             # doctest: +SKIP
    """
    import pandas as pd  # imported here: readers and flatten must not pay for pandas

    frame = pd.DataFrame([flatten(record) for record in records])
    frame = frame.drop(columns="_time", errors="ignore")  # ours wins over a record's own
    times = frame["eventTime"] if "eventTime" in frame else pd.Series(None, index=frame.index)
    frame.insert(0, "_time", pd.to_datetime(times, utc=True, format="ISO8601", errors="coerce"))
    return frame
