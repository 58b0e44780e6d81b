"""Splunk from Python: search into DataFrames, send events through HEC, upload lookup tables.

Everything here goes through the official ``splunklib`` client or Splunk's documented HTTP Event
Collector, so the same calls work against the lab's local Splunk and a real Splunk Enterprise or
Cloud: only the settings (``SPLUNK_URL``, ``SPLUNK_USERNAME``/``SPLUNK_PASSWORD`` or
``SPLUNK_TOKEN``, ``SPLUNK_HEC_URL``, ``SPLUNK_HEC_TOKEN``) change.

>>> from helpers import splunk
>>> service = splunk.connect()                                       # doctest: +SKIP
>>> splunk.send_events([{"eventName": "StopLogging"}],
...                    sourcetype="aws:cloudtrail")                  # doctest: +SKIP
1
>>> splunk.search("`cloudtrail` eventName=StopLogging | stats count",
...               service=service)                                   # doctest: +SKIP
   count
0      1
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from helpers import detections, hec
from helpers.config import Settings, get_settings
from helpers.hec import HecClient, HecError

if TYPE_CHECKING:
    import pandas as pd
    import requests
    import splunklib.client

__all__ = [
    "HecError",
    "SearchError",
    "connect",
    "define_macro",
    "detected",
    "ensure_index",
    "install_app",
    "install_detections",
    "pause_alert",
    "qualify",
    "resume_alert",
    "search",
    "send_events",
    "upload_lookup",
]

log = logging.getLogger(__name__)

#: Events per HEC request and bytes per request. 1 MB is the smallest limit a real HEC has
#: (Splunk Cloud); a local world takes far more (the benchmark sends larger batches).
BATCH_EVENTS = 1000
BATCH_BYTES = 1_000_000
#: Attempts for one batch while HEC is unavailable (busy, 5xx, the connection fails).
HEC_ATTEMPTS = 6
HEC_BACKOFF = 0.5  # seconds, doubled after each failed attempt
#: Columns kept as text even when every value looks like a number (ids, accounts, keys).
TEXT_COLUMNS = re.compile(r"(?i)(id|ids|account|arn|key|number|code)$")
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


class SearchError(RuntimeError):
    """Splunk rejected a search; the message is Splunk's own text."""


# -- connecting -----------------------------------------------------------------------------------
def connect(
    settings: Settings | None = None, *, owner: str = "nobody", app: str = "search", **kwargs
) -> splunklib.client.Service:
    """A splunklib ``Service`` for the management API named by ``SPLUNK_URL``.

    Uses ``SPLUNK_TOKEN`` when it is set (sent as a Bearer token), else logs in with
    ``SPLUNK_USERNAME``/``SPLUNK_PASSWORD``. ``owner``/``app`` fix the namespace saved searches
    and macros live in; other keyword arguments go to ``splunklib.client.connect`` (for
    example ``verify=True`` for a Splunk with a trusted certificate).

    >>> service = connect()                                      # doctest: +SKIP
    >>> service.info["version"]                                  # doctest: +SKIP
    '9.2.1'
    """
    import splunklib.client as client

    settings = settings or get_settings()
    url = urlsplit(
        settings.require("splunk_url", "the Splunk management API, e.g. https://host:8089")
    )
    options: dict[str, Any] = {
        "host": url.hostname,
        "port": url.port or 8089,
        "scheme": url.scheme or "https",
        "owner": owner,
        "app": app,
    }
    if settings.splunk_token is not None and settings.splunk_token.get_secret_value():
        options["splunkToken"] = settings.splunk_token.get_secret_value()
    else:
        options["username"] = settings.require("splunk_username", "or set SPLUNK_TOKEN")
        options["password"] = settings.require("splunk_password", "or set SPLUNK_TOKEN")
        options["autologin"] = True  # a long notebook outlives a session key
    options.update(kwargs)
    return client.connect(**options)


# -- searching ------------------------------------------------------------------------------------
def qualify(spl: str) -> str:
    """The search as the REST API wants it: Splunk Web adds ``search`` when no command leads.

    >>> qualify("index=main | head 1"), qualify("| makeresults"), qualify("search x")
    ('search index=main | head 1', '| makeresults', 'search x')
    """
    text = spl.strip()
    if text.startswith("|") or re.match(r"search\b", text):
        return text
    return f"search {text}"


def search(
    spl: str,
    earliest: str | float | None = "-24h",
    latest: str | float | None = "now",
    *,
    service: splunklib.client.Service | None = None,
    internal: bool = False,
    numeric: bool = True,
    **params,
) -> pd.DataFrame:
    """Run SPL and return the results as a DataFrame (one row per result).

    ``earliest``/``latest`` are Splunk time modifiers (``-24h@h``, ``now``, epoch seconds; ``0``
    or None for all time). ``_time`` becomes a UTC datetime column; columns whose values are
    all numbers become numeric unless their name says they are ids (``TEXT_COLUMNS``).
    Internal fields (``_bkt``, ``_cd``...) are dropped unless ``internal=True``; ``_time`` and
    ``_raw`` are kept. A search Splunk rejects raises ``SearchError`` with Splunk's text.

    >>> search("`cloudtrail` | stats count by eventName", earliest=0)   # doctest: +SKIP
    """
    import pandas as pd
    import splunklib.binding as binding

    service = service or connect()
    options = {"output_mode": "json", **params}
    if earliest not in (None, ""):
        options["earliest_time"] = str(earliest)
    if latest not in (None, ""):
        options["latest_time"] = str(latest)
    try:
        stream = service.jobs.export(qualify(spl), **options)
        rows, messages = _export_rows(stream)
    except binding.HTTPError as exc:
        raise SearchError(_splunk_message(exc)) from None
    for kind, text in messages:
        if kind in ("FATAL", "ERROR"):
            raise SearchError(text)
        log.info("splunk %s: %s", kind, text)
    columns = list(dict.fromkeys(name for row in rows for name in row))
    if not internal:
        columns = [c for c in columns if not c.startswith("_") or c in ("_time", "_raw")]
    frame = pd.DataFrame([[row.get(c) for c in columns] for row in rows], columns=columns)
    return _typed(frame, numeric)


def _export_rows(stream) -> tuple[list[dict], list[tuple[str, str]]]:
    """Final result rows and messages from an export stream (one JSON document per line)."""
    rows, messages = [], []
    for line in stream.read().decode("utf-8").splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        for message in doc.get("messages") or []:
            messages.append((message.get("type", "INFO"), message.get("text", "")))
        if doc.get("preview"):
            continue  # a reporting search's interim rows; the final ones follow
        if "result" in doc:
            rows.append(doc["result"])
        rows.extend(doc.get("results") or [])
    return rows, messages


def _splunk_message(exc) -> str:
    """Splunk's error text from an HTTPError body (JSON or XML), else the exception text."""
    body = getattr(exc, "body", b"") or b""
    try:
        texts = [m.get("text", "") for m in json.loads(body).get("messages", [])]
        if texts:
            return texts[-1]
    except (ValueError, AttributeError):
        pass
    return str(exc)


def _typed(frame: pd.DataFrame, numeric: bool) -> pd.DataFrame:
    import pandas as pd

    if "_time" in frame:
        frame["_time"] = pd.to_datetime(frame["_time"], utc=True, format="ISO8601", errors="coerce")
    if not numeric:
        return frame
    for column in frame.columns:
        if column.startswith("_") or TEXT_COLUMNS.search(column):
            continue
        values = frame[column].dropna()
        if len(values) and all(isinstance(v, str) and _NUMBER.fullmatch(v) for v in values):
            frame[column] = pd.to_numeric(frame[column])
    return frame


# -- HEC ------------------------------------------------------------------------------------------
def send_events(
    records: Iterable[dict | str],
    *,
    sourcetype: str = "_json",
    index: str | None = None,
    source: str | None = None,
    host: str | None = None,
    time_field: str | Callable[[Any], Any] | None = None,
    settings: Settings | None = None,
    session: requests.Session | None = None,
    batch_events: int = BATCH_EVENTS,
    batch_bytes: int = BATCH_BYTES,
    verify: bool | str | None = None,
) -> int:
    """Send records (dicts become JSON events, strings raw text) through HEC; returns the count.

    ``time_field`` names the field holding each record's time (ISO 8601 such as CloudTrail's
    ``eventTime``, or epoch seconds), or is a function of the record giving its time (for raw
    text lines); without it HEC stamps the time of arrival. Records go in
    batches (``batch_events``, ``batch_bytes``); an unavailable HEC (busy, 5xx, a dropped
    connection) is retried with backoff, any other rejection raises :class:`HecError` naming
    the record. ``index`` defaults to ``SPLUNK_INDEX`` (``main``); ``verify`` overrides
    ``SPLUNK_HEC_VERIFY`` (how HEC's certificate is checked).

    >>> from helpers import cloudtrail
    >>> send_events(cloudtrail.read_files("data/sample_cloudtrail"),
    ...             sourcetype="aws:cloudtrail", time_field="eventTime")   # doctest: +SKIP
    212
    """
    settings = settings or get_settings()
    client = HecClient.from_settings(settings, session=session, timeout=(10, 120), verify=verify)
    envelope = {"sourcetype": sourcetype, "index": index or settings.splunk_index}
    if source:
        envelope["source"] = source
    if host:
        envelope["host"] = host
    sent = 0
    with client:
        for first, body in hec.batches(
            records, envelope, time_field=time_field, max_events=batch_events, max_bytes=batch_bytes
        ):
            _send(client, body, first)
            sent += body.count(b"\n") + 1
    return sent


def _send(client: HecClient, body: bytes, first: int) -> None:
    """One body, retried with backoff while HEC is unavailable."""
    delay = HEC_BACKOFF
    for attempt in range(1, HEC_ATTEMPTS + 1):
        try:
            client.send(body)
            return
        except HecError as exc:
            if exc.kind != "unavailable" or attempt == HEC_ATTEMPTS:
                raise exc.at(first) from exc
            log.warning("HEC is unavailable (%s); retrying in %.1fs", exc.text, delay)
        time.sleep(delay)
        delay *= 2


def detected(
    detection_id: str,
    since: dt.datetime | float,
    *,
    timeout: float = 60.0,
    service: splunklib.client.Service | None = None,
) -> list[dict[str, str]]:
    """The result rows of a catalog detection over the events since ``since`` (a datetime or
    epoch seconds), as its alert would send them (``detection``, ``resource``, ``account``,
    ``dedup_key``...), waiting up to ``timeout`` seconds for the first: CloudTrail delivery and
    the ingest take a moment. An empty list when nothing was detected in time.

    >>> attack = simulate.run("s3-public")                              # doctest: +SKIP
    >>> [row] = detected("s3-bucket-made-public", attack.started)       # doctest: +SKIP
    >>> Incident.from_result(row).dedup_key                             # doctest: +SKIP
    's3-bucket-made-public:lab-data-123456789012:123456789012'
    """
    detection = detections.get(detection_id)
    start = since.timestamp() if isinstance(since, dt.datetime) else float(since)
    service = service or connect()
    deadline = time.monotonic() + timeout
    while True:
        found = search(detection.search, earliest=start - 1, service=service, numeric=False)
        if not found.empty or time.monotonic() > deadline:
            rows = found.drop(columns=["_time", "_raw"], errors="ignore").to_dict("records")
            return [{k: str(v) for k, v in row.items() if v is not None} for row in rows]
        time.sleep(0.5)


# -- knowledge objects ----------------------------------------------------------------------------
def upload_lookup(name: str, table, *, service: splunklib.client.Service | None = None) -> int:
    """Create or replace a CSV lookup table; returns its row count.

    ``table`` is CSV text, a DataFrame, or a list of dicts. The upload is an
    ``outputlookup`` search, which works the same on every Splunk (Splunk's REST API has no
    direct upload for lookup files). ``.csv`` is added to ``name`` if missing.

    >>> upload_lookup("office_ips", "ip,office\\n52.94.236.248,Seattle\\n")   # doctest: +SKIP
    1
    """
    import splunklib.binding as binding

    text = _csv_text(table)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0]:
        raise ValueError(f"lookup {name!r}: the table has no header row")
    file_name = name if name.endswith(".csv") else f"{name}.csv"
    if not re.fullmatch(r"[\w.-]+", file_name):
        raise ValueError(f"lookup {name!r}: use letters, digits, '_', '-' and '.' only")
    data = text.replace("\\", "\\\\").replace('"', '\\"')
    spl = f'| makeresults format=csv data="{data}" | outputlookup {file_name}'
    service = service or connect()
    try:
        service.jobs.oneshot(spl, output_mode="json", count=1).read()
    except binding.HTTPError as exc:
        raise SearchError(_splunk_message(exc)) from None
    return len(rows) - 1


def _csv_text(table) -> str:
    if isinstance(table, str):
        return table.strip() + "\n"
    if hasattr(table, "to_csv"):
        return table.to_csv(index=False)
    rows = list(table)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def define_macro(
    name: str,
    definition: str,
    args: Iterable[str] = (),
    *,
    service: splunklib.client.Service | None = None,
) -> None:
    """Create or update a search macro (``name(N)`` for N arguments, as Splunk names them).

    >>> define_macro("cloudtrail", "index=main sourcetype=aws:cloudtrail")  # doctest: +SKIP
    """
    service = service or connect()
    args = list(args)
    if args and not name.endswith(")"):
        name = f"{name}({len(args)})"
    extra = {"args": ",".join(args)} if args else {}
    if name in service.macros:
        service.macros[name].update(definition=definition, **extra)
    else:
        service.macros.create(name, definition, **extra)


def ensure_index(name: str, *, service: splunklib.client.Service | None = None) -> None:
    """Create an index unless it exists (needs the admin role on a real Splunk)."""
    service = service or connect()
    if name not in service.indexes:
        service.indexes.create(name)


def pause_alert(name: str, *, service: splunklib.client.Service | None = None) -> bool:
    """Stop the saved search ``name`` from alerting (disable it), as you would while working its
    incidents by hand. True when it was alerting, so that :func:`resume_alert` afterwards turns
    back on only what this turned off; a search that does not exist or is disabled: False.

    >>> paused = pause_alert("s3-bucket-made-public")                 # doctest: +SKIP
    >>> if paused:                                                    # doctest: +SKIP
    ...     resume_alert("s3-bucket-made-public")
    """
    service = service or connect()
    if name not in service.saved_searches:
        return False
    search = service.saved_searches[name]
    if search["disabled"] in ("1", True, "true"):
        return False
    search.disable()
    return True


def resume_alert(name: str, *, service: splunklib.client.Service | None = None) -> None:
    """Let the saved search ``name`` alert again (enable it); see :func:`pause_alert`."""
    service = service or connect()
    service.saved_searches[name].enable()


def install_app(path: str | Path, *, service: splunklib.client.Service | None = None) -> bool:
    """Install (or update) an app archive that lies on the Splunk host, as ``splunk install app``
    does; True when it was new. For a Splunk elsewhere, upload the file in Splunk Web instead
    (Apps > Manage Apps > Install app from file).

    >>> install_app("dist/cloudsec_lab_detections-0.1.0.tgz")  # doctest: +SKIP
    True
    """
    from splunklib.binding import HTTPError

    service = service or connect()
    try:
        response = service.post("apps/local", name=str(Path(path).resolve()), filename=True,
                                update=True)  # fmt: skip
    except HTTPError as exc:
        raise SearchError(_splunk_message(exc)) from None
    return response.status == 201


def install_detections(
    webhook_url: str | None = None,
    *,
    service: splunklib.client.Service | None = None,
    settings: Settings | None = None,
    index: str | None = None,
    catalog: Iterable[detections.Detection] | None = None,
    fresh: bool = False,
    sns_topic: str | None = None,
) -> dict[str, str]:
    """Create or update catalog detections as saved searches alerting ``webhook_url``.

    ``sns_topic`` uses the Splunk Add-on for AWS SNS alert action instead of the webhook
    (publishing each result to that topic). ``fresh`` deletes each saved search first, so its
    throttle and fired alerts start afresh (a demo that runs twice within a throttle window).

    The URL defaults to ``AUTOMATION_SPLUNK_WEBHOOK_URL``; the ``cloudtrail`` macro's index to
    ``SPLUNK_INDEX``; ``catalog`` to every detection (:func:`helpers.detections.load`). An
    existing ``cloudtrail`` macro is kept (it is where a site points the detections at its own
    index); the catalog's CSV lookups are written with :func:`upload_lookup`. Returns
    ``{detection id: "created" | "updated"}``; each saved search is named by its detection id.

    >>> install_detections("http://127.0.0.1:8787/splunk/webhook/<token>")  # doctest: +SKIP
    {'access-key-used-from-unexpected-country': 'created', ...}
    """
    from splunklib.binding import HTTPError

    settings = settings or get_settings()
    if webhook_url is None and sns_topic is None:
        webhook_url = settings.require(
            "automation_splunk_webhook_url", "where detections send their webhooks"
        )
    service = service or connect(settings)
    try:
        service.get(f"configs/conf-macros/{detections.MACRO}")
    except HTTPError as exc:
        if exc.status != 404:
            raise
        definition = detections.macro_definition(index or settings.splunk_index)
        service.post("configs/conf-macros", name=detections.MACRO, definition=definition)
    for name, csv_text in detections.lookups().items():
        upload_lookup(name, csv_text, service=service)
    done = {}
    for detection in detections.load() if catalog is None else catalog:
        params = detections.saved_search_params(
            detection, webhook_url, sns_topic=sns_topic, sns_region=settings.aws_region
        )
        if fresh and detection.id in service.saved_searches:
            service.saved_searches.delete(detection.id)
        if detection.id in service.saved_searches:
            service.saved_searches[detection.id].update(**params).refresh()
            done[detection.id] = "updated"
        else:
            search = params.pop("search")
            service.saved_searches.create(detection.id, search, **params)
            done[detection.id] = "created"
    return done
