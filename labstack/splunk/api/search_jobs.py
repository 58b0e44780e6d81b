"""Search jobs (``search/jobs`` and ``search/v2/jobs``): create, oneshot, export, status,
control, results, preview, events, summary and the search log (wire spec 1.5, 1.6)."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from xml.sax.saxutils import escape as _escape

from werkzeug.wrappers import Response

from labstack.splunk import atom, results
from labstack.splunk.api.core import (
    DEFAULT_RESULTS_COUNT,
    JSON,
    XML,
    ApiError,
    Call,
    Splunkd,
    search_namespace,
)
from labstack.splunk.jobs import Job
from labstack.splunk.spl import SPLError
from labstack.splunk.spl.limits import Guard

#: Job control actions that set a flag of the job: action -> (attribute, value).
CONTROL_FLAGS = {
    "pause": ("paused", True), "unpause": ("paused", False), "finalize": ("finalized", True),
    "enablepreview": ("preview", True), "disablepreview": ("preview", False),
    "save": ("saved", True), "unsave": ("saved", False),
}  # fmt: skip
#: A saved job's ttl (splunkd keeps saved jobs for 7 days).
SAVED_TTL = 7 * 24 * 3600


def job_entity(job: Job) -> atom.Entity:
    return atom.Entity(
        job.sid,
        "search/jobs",
        job.status(),
        owner=job.owner,
        app=job.app,
        sharing="global",
        updated=job.updated or job.created,
        perms={"read": [job.owner], "write": [job.owner]},
    )


def _search_text(call: Call) -> str:
    search = call.get("search")
    if search is None or not search.strip():
        raise ApiError(400, "Missing required argument: search", "FATAL")
    return search


def _times(call: Call) -> tuple[str | None, str | None, float | None]:
    now = call.get("now")
    try:
        now_value = float(now) if now not in (None, "") else None
    except ValueError:
        raise ApiError(400, f"Invalid value for 'now': {now}", "FATAL") from None
    return call.get("earliest_time") or None, call.get("latest_time") or None, now_value


def spl_error(exc: SPLError) -> ApiError:
    return ApiError(400, str(exc), "FATAL")


def _page(call: Call, rows: list[dict], fields: list[str]) -> tuple[list[dict], list[str]]:
    count = call.integer("count", DEFAULT_RESULTS_COUNT)
    offset = call.integer("offset", 0)
    if offset < 0:
        offset = max(len(rows) + offset, 0)
    rows = rows[offset:] if count <= 0 else rows[offset : offset + count]
    wanted = call.params.get("f") or call.params.get("field_list")
    if wanted:
        names = [n.strip() for value in wanted for n in value.split(",") if n.strip()]
        keep = [f for f in fields if any(_glob(n, f) for n in names)]
        rows = [{k: v for k, v in row.items() if k in keep} for row in rows]
        fields = keep
    return rows, fields


def _glob(pattern: str, name: str) -> bool:
    if "*" not in pattern:
        return pattern == name
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), name) is not None


def _results_response(call: Call, job: Job, preview: bool = False) -> Response:
    mode = call.mode
    if mode not in results.MODES:
        raise ApiError(400, f"Invalid output_mode '{mode}'.")
    rows, fields = _page(call, job.rows, job.fields)
    body = results.render(
        fields, rows, mode, job.messages, preview=preview, offset=call.integer("offset", 0)
    )
    return Response(body, content_type=results.CONTENT_TYPES[mode])


def list_jobs(api: Splunkd, call: Call) -> Response:
    return api.listing(call, "jobs", [job_entity(j) for j in api.jobs.list()])


def create_job(api: Splunkd, call: Call) -> Response:
    search = _search_text(call)
    earliest, latest, now = _times(call)
    exec_mode = call.get("exec_mode", "normal")
    if exec_mode == "oneshot":
        return _results_response(call, _run_while_waiting(api, call, search, earliest, latest, now))
    try:
        job = api.jobs.create(
            search,
            earliest,
            latest,
            now,
            params=call.flat(skip=("output_mode",)),
            blocking=exec_mode == "blocking",
            namespace=search_namespace(call),
        )
    except SPLError as exc:
        raise spl_error(exc) from None
    return api.sid_response(call, job.sid)


def export(api: Splunkd, call: Call) -> Response:
    search = _search_text(call)
    earliest, latest, now = _times(call)
    mode = call.mode
    if mode not in results.MODES:
        raise ApiError(400, f"Invalid output_mode '{mode}'.")
    job = _run_while_waiting(api, call, search, earliest, latest, now)
    count = call.integer("count", 0)
    rows = job.rows if count <= 0 else job.rows[:count]
    lines = results.export_lines(job.fields, rows, mode, job.messages)
    return Response(
        (line.encode("utf-8") for line in lines), content_type=results.CONTENT_TYPES[mode]
    )


def _run_while_waiting(api: Splunkd, call: Call, search: str, earliest, latest, now):
    """Run a search in the request's namespace while its client waits (oneshot, export); it
    stops if the client hangs up."""
    try:
        return api.jobs.run_now(
            search,
            earliest,
            latest,
            now,
            guard=Guard(alive=lambda: client_alive(call.request.environ)),
            namespace=search_namespace(call),
        )
    except SPLError as exc:
        raise spl_error(exc) from None


def client_alive(environ) -> bool:
    """False once the client of this request has closed its connection."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return not readable or sock.recv(1, socket.MSG_PEEK) != b""
    except (OSError, ValueError):  # closed or reset
        return False


def _job(api: Splunkd, call: Call) -> Job:
    job = api.jobs.get(call.args["sid"])
    if job is None:
        raise ApiError(404, "Unknown sid.", "FATAL")
    return job


def job_status(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    entity = job_entity(job)
    if call.mode == "json":
        return api.feed(call, "jobs", [entity])
    return Response(atom.entry_xml(entity, call.base), content_type=XML)


def delete_job(api: Splunkd, call: Call) -> Response:
    _job(api, call)
    api.jobs.delete(call.args["sid"])
    return api.message(call, "Search job cancelled.")


def job_control(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    action = call.get("action", "")
    if action == "cancel":
        api.jobs.delete(job.sid)
        return api.message(call, "Search job cancelled.")
    if action == "setttl":
        ttl = call.integer("ttl", job.ttl)
        if ttl <= 0:
            raise ApiError(400, f"Argument 'ttl' must be a positive integer, got '{ttl}'.")
        job.ttl = ttl
    elif action == "setpriority":
        priority = call.integer("priority", job.priority)
        if not 0 <= priority <= 10:
            raise ApiError(400, f"Argument 'priority' must be between 0 and 10, got '{priority}'.")
        job.priority = priority
    elif action in CONTROL_FLAGS:
        flag, value = CONTROL_FLAGS[action]
        setattr(job, flag, value)
        if action == "save":
            job.ttl = SAVED_TTL
    elif action != "touch":
        raise ApiError(400, f"Unknown action '{action}'.")
    job.touched = time.monotonic()  # every action counts as a use (touch: nothing else)
    job.updated = time.time()
    return api.message(call, f"Search job {action} request accepted.")


def job_results(api: Splunkd, call: Call) -> Response:
    """A finished job's results (and its ``events``: the lab keeps one table per job)."""
    job = _job(api, call)
    if not job.is_done:
        return Response(b"", 204)
    return _results_response(call, job)


def job_preview(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    return _results_response(call, job, preview=not job.is_done)


def job_summary(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    summary = field_summary(job.fields, job.rows)
    if call.mode == "json":
        return Response(json.dumps({"fields": summary}), content_type=JSON)
    parts = []
    for name, info in summary.items():
        modes = "".join(
            f"<value c='{v['count']}'><text>{_escape(v['value'])}</text></value>"
            for v in info["modes"]
        )
        parts.append(
            f"<field k='{_escape(name)}' c='{info['count']}' dc='{info['distinct_count']}'>"
            f"<modes>{modes}</modes></field>"
        )
    body = f"{atom.XML_DECL}<summary>{''.join(parts)}</summary>"
    return Response(body, content_type=XML)


def job_log(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    lines = [f"search: {job.search}", f"state: {job.state}"]
    lines += [f"{kind}: {text}" for kind, text in job.messages]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def field_summary(fields: list[str], rows: list[dict], top: int = 10) -> dict[str, dict]:
    """Per field: how many results have it, distinct values, and the most common values."""
    summary = {}
    for name in fields:
        counts: dict[str, int] = {}
        present = 0
        for row in rows:
            value = row.get(name)
            if value is None:
                continue
            present += 1
            for v in value if isinstance(value, list) else [value]:
                counts[v] = counts.get(v, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        summary[name] = {
            "count": present,
            "distinct_count": len(counts),
            "modes": [{"value": v, "count": c} for v, c in ranked],
        }
    return summary
