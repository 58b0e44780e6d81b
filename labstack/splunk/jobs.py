"""Search jobs: dispatched in worker threads, polled, read, cancelled, expired after their ttl.

A job runs ``runner(search, earliest, latest, now, guard, namespace=...)`` (the namespace: where
it runs, the macros it sees), which returns ``(fields, rows, messages)`` with text values (see
:mod:`labstack.splunk.results`), or raises the SPL engine's error. Each job has its
:class:`~labstack.splunk.spl.limits.Guard`: cancelling or deleting the job stops its search,
and so does the time limit. :meth:`Jobs.create` waits briefly so that a search Splunk would
reject at parse time is rejected at dispatch (HTTP 400) instead of becoming a failed job.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from labstack.splunk.namespace import Namespace
from labstack.splunk.spl import SPLError
from labstack.splunk.spl.limits import Guard

log = logging.getLogger("labstack.splunk.jobs")

#: Seconds a finished ad hoc job is kept after its last use (Splunk's default ttl is 600).
DEFAULT_TTL = 600
#: How long create() waits to turn a parse error into a 400, in seconds.
PARSE_GRACE = 2.0
#: Jobs kept at most; the oldest finished ones go first.
MAX_JOBS = 200

Runner = Callable[[str, str | None, str | None, float, Guard], tuple[list[str], list[dict], list]]


@dataclass
class Job:
    sid: str
    search: str
    earliest: str | None
    latest: str | None
    now: float
    owner: str = "admin"
    app: str = "search"
    label: str | None = None  # the saved search that dispatched it
    namespace: Namespace | None = None  # where it runs: the macros it sees
    params: dict = field(default_factory=dict)
    state: str = "QUEUED"
    fields: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    ttl: int = DEFAULT_TTL
    touched: float = field(default_factory=time.monotonic)
    #: The entry's ``updated``: its last change (finished, touched, controlled).
    updated: float | None = None
    # What job control (``.../control``) has set.
    paused: bool = False
    finalized: bool = False
    preview: bool = False
    saved: bool = False
    priority: int = 5
    done: threading.Event = field(default_factory=threading.Event)
    guard: Guard = field(default_factory=Guard)

    @property
    def is_done(self) -> bool:
        return self.state in ("DONE", "FAILED")

    def status(self) -> dict:
        """The job entry's content, as splunklib and Splunk Web read it."""
        done = self.is_done
        run = (self.finished or time.time()) - (self.started or self.created)
        count = len(self.rows) if done else 0
        return {
            "sid": self.sid,
            "label": self.label or "",
            "search": self.search,
            "eventSearch": self.search,
            "dispatchState": self.state,
            "isDone": "1" if done else "0",
            "isFailed": "1" if self.state == "FAILED" else "0",
            "isFinalized": "1" if self.finalized else "0",
            "isPaused": "1" if self.paused else "0",
            "isPreviewEnabled": "1" if self.preview else "0",
            "isRealTimeSearch": "0",
            "isRemoteTimeline": "0",
            "isSaved": "1" if self.saved else "0",
            "isSavedSearch": "1" if self.label else "0",
            "isZombie": "0",
            "doneProgress": "1.00000" if done else "0.00000",
            "resultCount": str(count),
            "resultPreviewCount": str(count),
            "eventCount": str(count),
            "eventAvailableCount": str(count),
            "scanCount": str(count),
            "runDuration": f"{max(run, 0):.3f}",
            "earliestTime": self.earliest or "",
            "latestTime": self.latest or "",
            "ttl": str(self.ttl),
            "priority": str(self.priority),
            "cursorTime": "1970-01-01T00:00:00.000+00:00",
            "delegate": self.params.get("delegate", ""),
            "diskUsage": "0",
            "dropCount": "0",
            "eventFieldCount": str(len(self.fields)) if done else "0",
            "eventIsStreaming": "1",
            "eventIsTruncated": "0",
            "eventSorting": "desc",
            "keywords": "",
            "numPreviews": "0",
            "remoteSearch": self.search,
            "reportSearch": "",
            "resultIsStreaming": "1",
            "searchProviders": [],
            "statusBuckets": self.params.get("status_buckets", "0"),
            "provenance": "rest",
            "request": {k: v for k, v in self.params.items() if k != "search"},
            "messages": _messages_dict(self.messages),
        }


def _messages_dict(messages: list[tuple[str, str]]) -> dict:
    out: dict[str, list[str]] = {}
    for kind, text in messages:
        out.setdefault(kind.lower(), []).append(text)
    return out


class Jobs:
    def __init__(self, runner: Runner, workers: int = 4):
        self.runner = runner
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="search")
        self._seq = itertools.count(1)

    def new_sid(self, saved_name: str | None = None, user: str = "admin") -> str:
        seq = next(self._seq)
        now = int(time.time())
        if saved_name is None:
            return f"{now}.{seq}"
        digest = hashlib.md5(saved_name.encode(), usedforsecurity=False).hexdigest()[:16]
        return f"{user}__{user}__search__RMD5{digest}_at_{now}_{seq}"

    def create(
        self,
        search: str,
        earliest: str | None = None,
        latest: str | None = None,
        now: float | None = None,
        params: dict | None = None,
        label: str | None = None,
        blocking: bool = False,
        namespace: Namespace | None = None,
    ) -> Job:
        """Dispatch a search (in ``namespace``: the macros it expands are those it sees).
        Raises ``SPLError`` when it fails within the parse grace time."""
        job = Job(
            sid=self.new_sid(label),
            search=search,
            earliest=earliest or None,
            latest=latest or None,
            now=time.time() if now is None else now,
            label=label,
            params=dict(params or {}),
            namespace=namespace,
        )
        self._purge()
        with self._lock:
            self._jobs[job.sid] = job
        self._pool.submit(self._run, job)
        job.done.wait(None if blocking else PARSE_GRACE)
        if job.state == "FAILED" and job.error is not None:
            with self._lock:
                self._jobs.pop(job.sid, None)
            raise SPLError(job.error)
        return job

    def run_now(
        self, search: str, earliest=None, latest=None, now=None, guard=None, namespace=None
    ) -> Job:
        """Run a search in the calling thread (oneshot and export); errors propagate.
        ``guard`` stops it early (export passes one that knows when its client is gone)."""
        job = Job(
            sid=self.new_sid(),
            search=search,
            earliest=earliest or None,
            latest=latest or None,
            now=time.time() if now is None else now,
            guard=guard or Guard(),
            namespace=namespace,
        )
        job.started = time.time()
        job.fields, job.rows, job.messages = self.runner(
            search, job.earliest, job.latest, job.now, job.guard, namespace=namespace
        )
        job.state, job.finished = "DONE", time.time()
        job.updated = job.finished
        return job

    def _run(self, job: Job) -> None:
        job.state, job.started = "RUNNING", time.time()
        try:
            job.guard.check()  # cancelled while it was queued
            job.fields, job.rows, job.messages = self.runner(
                job.search, job.earliest, job.latest, job.now, job.guard, namespace=job.namespace
            )
            job.state = "DONE"
        except SPLError as exc:
            job.error = str(exc)
            job.messages = [("FATAL", str(exc))]
            job.state = "FAILED"
        except Exception:
            log.exception("search job %s failed", job.sid)
            job.error = None
            job.messages = [("FATAL", "Search job failed: internal error (see the service log).")]
            job.state = "FAILED"
        finally:
            job.finished = job.updated = time.time()
            job.done.set()

    def get(self, sid: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(sid)
        if job is not None:
            job.touched = time.monotonic()
        return job

    def list(self) -> list[Job]:
        self._purge()
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def delete(self, sid: str) -> bool:
        """Forget a job, stopping its search if it still runs (cancel and DELETE)."""
        with self._lock:
            job = self._jobs.pop(sid, None)
        if job is None:
            return False
        job.guard.cancel()
        return True

    def history(self, label: str) -> list[Job]:
        return [j for j in self.list() if j.label == label]

    def _purge(self) -> None:
        now = time.monotonic()
        with self._lock:
            for sid, job in list(self._jobs.items()):
                if job.is_done and now - job.touched > job.ttl:
                    del self._jobs[sid]
            finished = sorted(
                (j for j in self._jobs.values() if j.is_done), key=lambda j: j.touched
            )
            for job in finished[: max(0, len(self._jobs) - MAX_JOBS)]:
                del self._jobs[job.sid]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
