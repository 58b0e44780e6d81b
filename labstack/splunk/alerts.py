"""Alerting in the local Splunk: the scheduler, real-time searches, and firing alert actions.

A saved search alerts when it is scheduled (``is_scheduled``) and not ``disabled``:

- a *scheduled* search runs on its ``cron_schedule`` (UTC) over ``dispatch.earliest_time`` ..
  ``dispatch.latest_time`` relative to the scheduled time; the scheduler thread ticks on minute
  boundaries as cron does (``LAB_SPLUNK_SCHEDULER_SECONDS`` ticks faster; croniter's optional
  sixth field, seconds, then schedules below a minute);
- a *real-time* search (``dispatch.earliest_time=rt`` or ``rt-30s``...) is evaluated against each
  batch of newly indexed events (HEC and ``receivers/simple``) as it is added, within
  milliseconds; with a count condition (``number of events`` ...) it counts over its window;
- ``POST saved/searches/<name>/dispatch`` with ``trigger_actions=1`` runs it now, actions included.

Each run's results go through the alert condition (:mod:`~labstack.splunk.alert_conditions`),
``alert.digest_mode`` (one trigger per run, or one per result) and throttling
(``alert.suppress.period``, keyed by ``alert.suppress.fields``, kept in ``alerts.sqlite`` so a
restart keeps it). A trigger is recorded as a fired alert (``GET alerts/fired_alerts``, the
``/en-US/app/search/alerts`` page) and, with ``actions=webhook``, queued for
``action.webhook.param.url`` in the persistent outbox (:mod:`~labstack.splunk.alert_webhook`).

As in Splunk, only alerts with ``alert.track=1`` are listed in ``alerts/fired_alerts``; every
webhook, tracked or not, is listed by the lab-only ``alerts/webhook_deliveries`` endpoint and on
the alerts page. Differences from Splunk worth knowing: a real-time search is evaluated per
indexed batch (no preview, no backfill of events indexed before it was saved); a hand-dispatched
real-time search runs once over its window.

Environment: ``LAB_SPLUNK_SCHEDULER_SECONDS`` (tick, default 60),
``LAB_SPLUNK_WEBHOOK_ATTEMPTS`` (default 8), ``LAB_SPLUNK_WEBHOOK_BACKOFF`` (first retry delay in
seconds, default 1, doubling).

>>> alerting = Alerting.attach(splunkd, state_dir, web="http://127.0.0.1:8089")  # doctest: +SKIP
>>> alerting.start()                                                           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from croniter import croniter
from werkzeug.wrappers import Request, Response

from helpers.runtime.queue import Backoff
from labstack.splunk import alert_conditions as cond
from labstack.splunk import atom
from labstack.splunk.alert_search import BatchStore, search_rows
from labstack.splunk.alert_state import AlertState, Fired
from labstack.splunk.alert_webhook import ATTEMPTS, BACKOFF, JITTER, MAX_BACKOFF, Outbox, payload
from labstack.splunk.api import JSON, XML, ApiError, Call, Splunkd, route
from labstack.splunk.results import clean_rows
from labstack.splunk.saved import SavedSearch, flag
from labstack.splunk.spl import SPLError

__all__ = ["Alerting", "Options"]

log = logging.getLogger("labstack.splunk.alerts")

#: Seconds between scheduler ticks: cron's minute.
TICK = 60.0
#: Scheduled searches run at once.
SCHEDULER_WORKERS = 4
#: A batch slower than this (seconds) with more waiting is logged: real-time alerts are late.
RT_SLOW = 1.0
#: Real-time searches run at once over a batch.
RT_WORKERS = 4
#: Batches the real-time worker merges when indexing outpaces it (events, not requests).
RT_MERGE_EVENTS = 50_000
#: Where Splunk Web lists triggered alerts (we also accept the short forms).
ALERTS_PAGES = ("/en-US/app/search/alerts", "/app/search/alerts", "/alerts")
GO_PAGES = ("/app/search/@go", "/en-US/app/search/@go")


@dataclass(frozen=True)
class Options:
    """Tunables, read from the environment by :meth:`from_env`."""

    tick: float = TICK
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF

    @classmethod
    def from_env(cls, env=os.environ) -> Options:
        def number(name: str, default: float) -> float:
            text = env.get(name)
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {text!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {text!r}")
            return value

        return cls(
            tick=number("LAB_SPLUNK_SCHEDULER_SECONDS", TICK),
            attempts=int(number("LAB_SPLUNK_WEBHOOK_ATTEMPTS", ATTEMPTS)),
            backoff=number("LAB_SPLUNK_WEBHOOK_BACKOFF", BACKOFF),
        )


def _active(attrs: dict) -> bool:
    return flag(attrs.get("is_scheduled", "0")) and not flag(attrs.get("disabled", "0"))


def _md5(name: str) -> str:
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:16]


class Alerting:
    """Scheduler, real-time evaluation and alert firing for one :class:`Splunkd`."""

    def __init__(self, api: Splunkd, state_dir: Path, web: str, options: Options | None = None):
        self.api = api
        self.store = api.store
        self.web = web.rstrip("/")
        self.options = options or Options()
        self.clock = time.time
        backoff = Backoff(base=self.options.backoff, cap=MAX_BACKOFF, jitter=JITTER)
        self.state = AlertState(
            Path(state_dir) / "alerts.sqlite", attempts=self.options.attempts, backoff=backoff
        )
        self.outbox = Outbox(self.state)
        self._stop = threading.Event()
        self._seq = itertools.count(1)
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()
        self._pool = ThreadPoolExecutor(SCHEDULER_WORKERS, thread_name_prefix="scheduler")
        self._rt_pool = ThreadPoolExecutor(RT_WORKERS, thread_name_prefix="realtime")
        self._throttle_lock = threading.Lock()
        self._batches: queue.Queue[list[dict] | None] = queue.Queue()
        self._realtime: list[str] = []
        self._threads: list[threading.Thread] = []
        self._refresh_realtime()

    @classmethod
    def attach(cls, api: Splunkd, state_dir: Path, web: str, options=None) -> Alerting:
        """Wire alerting into a Splunkd: dispatch hook, store hook, saved-search changes, the
        fired-alerts API (``api.alerting``) and the alerts page."""
        self = cls(api, state_dir, web, options or Options.from_env())
        api.alerting = self
        api.dispatch_hooks.append(self.on_dispatch)
        api.saved_checks.append(cond.validate)
        api.saved.listeners.append(self.on_saved_change)
        self.store.add_listeners.append(self.on_events)
        pages = api.extra_routes
        api.extra_routes = lambda request: self.page(request) or (pages(request) if pages else None)
        return self

    def start(self) -> None:
        self.outbox.start()
        for target, name in ((self._schedule_loop, "scheduler"), (self._realtime_loop, "realtime")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("alerting started (tick %.3gs)", self.options.tick)

    def stop(self) -> None:
        self._stop.set()
        self._batches.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._rt_pool.shutdown(wait=False, cancel_futures=True)
        self.outbox.stop()
        self.state.close()

    # -- the scheduler ---------------------------------------------------------------------------
    def _schedule_loop(self) -> None:
        step = self.options.tick
        last = self.clock()
        while not self._stop.is_set():
            boundary = (int(self.clock() // step) + 1) * step  # the next whole tick, like cron
            if self._stop.wait(max(boundary - self.clock(), 0)):
                return
            try:
                self.tick(last, boundary)
                self.state.prune(boundary)
            except Exception:
                log.exception("scheduler tick failed")
            last = boundary

    def tick(self, after: float, until: float) -> list[str]:
        """Start every scheduled search due in ``(after, until]``; the names started."""
        started = []
        for saved in self.api.saved.list():
            attrs = saved.content()
            cron = attrs.get("cron_schedule", "").strip()
            if not _active(attrs) or cond.is_realtime(attrs) or not cron:
                continue
            try:
                when = _last_due(cron, after, until)
            except (ValueError, KeyError) as exc:
                self._warn_once(saved.name, f"invalid cron_schedule {cron!r}: {exc}")
                continue
            if when is None:
                continue
            with self._lock:
                if saved.name in self._running:  # max_concurrent=1: skip, as Splunk does
                    log.info("skipping %r at %s: the previous run is still going", saved.name,
                             when)  # fmt: skip
                    continue
                self._running.add(saved.name)
            self._pool.submit(self._run_scheduled, saved, when)
            started.append(saved.name)
        return started

    def _run_scheduled(self, saved: SavedSearch, when: float) -> None:
        try:
            attrs = saved.content()
            job = self.api.jobs.create(
                attrs["qualifiedSearch"],
                attrs.get("dispatch.earliest_time") or None,
                attrs.get("dispatch.latest_time") or None,
                now=when,
                params={"search": attrs["qualifiedSearch"], "scheduled_time": str(int(when))},
                label=saved.name,
                blocking=True,
            )
            if job.state == "DONE":
                self.evaluate(saved, job.sid, job.rows, "scheduled", when)
            else:
                log.warning("scheduled search %r failed: %s", saved.name, job.messages)
        except SPLError as exc:
            self._warn_once(saved.name, f"scheduled search failed: {exc}")
        except Exception:
            log.exception("scheduled search %r failed", saved.name)
        finally:
            with self._lock:
                self._running.discard(saved.name)

    def _warn_once(self, name: str, text: str) -> None:
        if (name, text) not in self._warned:
            self._warned.add((name, text))
            log.warning("saved search %r: %s", name, text)

    # -- dispatch(trigger_actions=1) ------------------------------------------------------------
    def on_dispatch(self, saved: SavedSearch, job, params: dict) -> None:
        """Splunkd's dispatch hook: with ``trigger_actions`` the finished job may alert."""
        if not flag(params.get("trigger_actions", "0")):
            return

        def finish():
            job.done.wait()
            if job.state == "DONE":
                self.evaluate(saved, job.sid, job.rows, "dispatch", job.now)

        if job.done.is_set():  # the usual case: the alert is on record when dispatch answers
            finish()
        else:
            threading.Thread(target=finish, name="dispatch-actions", daemon=True).start()

    # -- real time -------------------------------------------------------------------------------
    def on_saved_change(self, name: str, saved: SavedSearch | None) -> None:
        if saved is None:
            self.state.forget_search(name)
        self._refresh_realtime()

    def _refresh_realtime(self) -> None:
        self._realtime = [
            s.name
            for s in self.api.saved.list()
            if _active(a := s.content()) and cond.is_realtime(a)
        ]

    def on_events(self, events: list[dict]) -> None:
        """The store's add hook: queue the batch for the real-time worker (never blocks)."""
        if self._realtime and events:
            self._batches.put(events)

    def _realtime_loop(self) -> None:
        batch_store = BatchStore(self.store)
        try:
            while not self._stop.is_set():
                events = self._batches.get()
                if events is None:
                    return
                events = list(events)
                while len(events) < RT_MERGE_EVENTS:  # catch up in one go when behind
                    try:
                        more = self._batches.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        return
                    events.extend(more)
                started = time.monotonic()
                try:
                    self.evaluate_batch(batch_store, events)
                except Exception:
                    log.exception("real-time evaluation failed")
                took = time.monotonic() - started
                if took > RT_SLOW and self._batches.qsize():
                    # Searches that hand many events to Python (where, iplocation...) cost ~0.2 ms
                    # an event: a bulk load makes real-time alerts late, never lost.
                    log.warning(
                        "real-time alerting is behind: %d events took %.1f s, %d batches waiting",
                        len(events), took, self._batches.qsize(),
                    )  # fmt: skip
        finally:
            batch_store.close()

    def evaluate_batch(self, batch_store: BatchStore, events: list[dict]) -> list[Fired]:
        """Run every real-time search over ``events`` (just indexed) and fire what matches.

        The searches run side by side (DuckDB searches in parallel), and each fires as soon as
        its own search is done, so one slow search does not delay the others' webhooks."""
        names = list(self._realtime)
        if not names:
            return []
        batch_store.replace(events)
        now = self.clock()
        runs = [self._rt_pool.submit(self._realtime_one, batch_store, n, now) for n in names]
        return [f for run in runs for f in run.result()]

    def _realtime_one(self, batch_store: BatchStore, name: str, now: float) -> list[Fired]:
        saved = self.api.saved.get(name)
        if saved is None:
            return []
        attrs = saved.content()
        window = cond.realtime_window(attrs)
        try:
            found = batch_store.search(attrs["qualifiedSearch"], earliest=window, now=now)
            rows = clean_rows(found.fields, found.rows)
            if not rows:
                return []
            kind = (attrs.get("alert_type") or "always").strip().lower()
            if kind != "always" and window is not None:
                # A rolling-window condition counts over the whole window, not the batch.
                whole = self.store.search(attrs["qualifiedSearch"], earliest=window, now=now)
                rows = clean_rows(whole.fields, whole.rows)
            sid = (
                f"rt_scheduler__{saved.owner}__{saved.app}__RMD5{_md5(name)}"
                f"_at_{int(now)}_{next(self._seq)}"
            )
            return self.evaluate(saved, sid, rows, "realtime", now)
        except SPLError as exc:
            self._warn_once(name, f"real-time search failed: {exc}")
        except Exception:
            log.exception("real-time search %r failed", name)
        return []

    # -- triggering ------------------------------------------------------------------------------
    def evaluate(
        self, saved: SavedSearch, sid: str, rows: list[dict], mode: str, when: float
    ) -> list[Fired]:
        """Apply the alert condition, digest mode and throttling to one run's results; record
        and queue what fires. Returns the fired alerts."""
        attrs = saved.content()
        name = saved.name
        try:
            kind = (attrs.get("alert_type") or "always").strip().lower()
            comparator = (attrs.get("alert_comparator") or "").strip().lower()
            previous = None
            if mode != "realtime" and comparator.startswith(("drops", "rises")):
                previous = self.state.swap_count(name, cond.measure(attrs, rows))
            hit = cond.triggered(
                attrs, rows, previous, custom=lambda spl, rs: bool(search_rows(self.store, spl, rs))
            )
        except (cond.ConditionError, SPLError) as exc:
            self._warn_once(name, f"alert condition: {exc}")
            return []
        if not hit:
            return []
        digest = flag(attrs.get("alert.digest_mode", "1"))
        if digest:
            triggers = [rows[0] if rows else None]
        else:
            triggers = list(rows)  # per result; a run without results triggers nothing
            if not triggers and kind != "always":
                triggers = [None]
        with self._throttle_lock:  # check-and-set: a dispatch may race a real-time trigger
            triggers = self._unthrottled(attrs, name, triggers, self.clock())
        return self._fire(saved, attrs, sid, triggers, len(rows), digest, mode, when)

    def _unthrottled(self, attrs: dict, name: str, triggers: list, now: float) -> list:
        if not cond.throttled(attrs) or not triggers:
            return triggers
        try:
            period = cond.period_seconds(attrs.get("alert.suppress.period") or "0")
        except cond.ConditionError as exc:
            self._warn_once(name, f"alert.suppress.period: {exc}")
            return triggers
        if not cond.suppress_fields(attrs):
            # No fields: the whole alert is suppressed once it triggered.
            if self.state.suppressed(name, "", now):
                return []
            self.state.suppress(name, "", now + period)
            return triggers
        kept, seen = [], set()
        for row in triggers:
            key = cond.suppress_key(attrs, row)
            if key in seen or self.state.suppressed(name, key, now):
                continue
            seen.add(key)
            self.state.suppress(name, key, now + period)
            kept.append(row)
        return kept

    def _fire(self, saved, attrs, sid, triggers, count, digest, mode, when) -> list[Fired]:
        if not triggers:
            return []
        actions = [a.strip() for a in (attrs.get("actions") or "").split(",") if a.strip()]
        url = (attrs.get("action.webhook.param.url") or "").strip()
        webhook = "webhook" in actions and bool(url)
        if "webhook" in actions and not url:
            self._warn_once(saved.name, "actions=webhook but action.webhook.param.url is empty")
        try:
            expires = cond.period_seconds(attrs.get("alert.expires") or "24h")
        except cond.ConditionError:
            expires = 86400.0
        now = self.clock()
        fired = []
        for number, row in enumerate(triggers):
            alert_name = sid if digest else f"{sid}_{number}"
            record = Fired(
                id=0, name=alert_name, search=saved.name, sid=sid, trigger_time=now,
                result_count=count if digest else 1, digest=digest,
                severity=attrs.get("alert.severity") or "3", actions=",".join(actions),
                alert_type=attrs.get("alert_type") or "always", mode=mode, owner=saved.owner,
                app=saved.app, expires=now + expires, tracked=flag(attrs.get("alert.track", "0")),
            )  # fmt: skip
            body = payload(row, sid, saved.name, saved.owner, saved.app, self.web)
            fired.append(self.state.record(record, [(url, body)] if webhook else [], now))
        log.info("alert %r fired %d time(s) (%s, sid %s)", saved.name, len(fired), mode, sid)
        self.outbox.wake()
        return fired

    # -- web page --------------------------------------------------------------------------------
    def page(self, request: Request) -> Response | None:
        path = request.path.rstrip("/") or "/"
        if request.method != "GET":
            return None
        if path in GO_PAGES:  # results_link: show the alerts of that sid
            sid = request.args.get("sid", "")
            response = Response(status=302)
            response.headers["Location"] = f"{ALERTS_PAGES[0]}?sid={quote(sid, safe='')}"
            return response
        if path not in ALERTS_PAGES:
            return None
        response = Response(_PAGE, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        return response


def _last_due(cron: str, after: float, until: float) -> float | None:
    """The latest time in ``(after, until]`` the cron expression names, or None."""
    start = datetime.fromtimestamp(after, UTC)
    found = None
    schedule = croniter(cron, start)
    for _ in range(100_000):
        moment = schedule.get_next(float)
        if moment > until:
            break
        found = moment
    return found


# -- the fired-alerts API ------------------------------------------------------------------------
def _alerting(api: Splunkd) -> Alerting:
    alerting = getattr(api, "alerting", None)
    if alerting is None:
        raise ApiError(404, "Alerting is not running in this server.")
    return alerting


def _rendered(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _alert_entity(alerting: Alerting, fired: Fired) -> atom.Entity:
    deliveries = alerting.state.deliveries(fired.id)
    content = {
        "actions": fired.actions,
        "alert_type": fired.alert_type,
        "digest_mode": "1" if fired.digest else "0",
        "expiration_time_rendered": _rendered(fired.expires),
        "savedsearch_name": fired.search,
        "severity": fired.severity,
        "sid": fired.sid,
        "trigger_time": str(int(fired.trigger_time)),
        "trigger_time_rendered": _rendered(fired.trigger_time),
        "triggered_alerts": "1",
        "result_count": str(fired.result_count),
        "trigger_mode": fired.mode,
    }
    if deliveries:
        last = deliveries[-1]
        content.update(
            {
                "webhook_url": last.url,
                "webhook_status": last.status,
                "webhook_attempts": str(last.attempts),
                "webhook_http_status": "" if last.http_status is None else str(last.http_status),
                "webhook_error": last.last_error,
            }
        )
    return atom.Entity(fired.name, "alerts/fired_alerts", content, owner=fired.owner,
                       app=fired.app, sharing="app", updated=fired.trigger_time)  # fmt: skip


def _group_entity(name: str, count: int, owner="nobody", app="search") -> atom.Entity:
    content = {"triggered_alert_count": str(count)}
    return atom.Entity(name, "alerts/fired_alerts", content, owner=owner, app=app, sharing="app")


@route("alerts/fired_alerts", "GET")
def list_fired_groups(api: Splunkd, call: Call) -> Response:
    """One entry per saved search that has fired (``-`` first: all of them)."""
    alerting = _alerting(api)
    fired = alerting.state.fired(tracked_only=True)
    groups: dict[str, list[Fired]] = {}
    for item in fired:
        groups.setdefault(item.search, []).append(item)
    entities = [_group_entity("-", len(fired))]
    for name in sorted(groups, key=str.lower):
        first = groups[name][0]
        entities.append(_group_entity(name, len(groups[name]), first.owner, first.app))
    return api.listing(call, "alerts/fired_alerts", entities)


@route("alerts/fired_alerts/{name}", "GET")
def list_fired(api: Splunkd, call: Call) -> Response:
    """The fired alerts of one saved search (``-``: all), or one fired alert by its name."""
    alerting = _alerting(api)
    name = call.args["name"]
    if name == "-":
        fired = alerting.state.fired(tracked_only=True)
    else:
        fired = alerting.state.fired(name, tracked_only=True)
        if not fired and api.saved.get(name) is None:
            fired = [f for f in alerting.state.fired(tracked_only=True) if f.name == name]
            if not fired:
                raise ApiError(404, f"Could not find object id={name}")
    entities = [_alert_entity(alerting, f) for f in fired]
    return api.listing(call, "alerts/fired_alerts", entities)


@route("alerts/fired_alerts/{name}", "DELETE")
def delete_fired(api: Splunkd, call: Call) -> Response:
    if not _alerting(api).state.delete_fired(call.args["name"]):
        raise ApiError(404, f"Could not find object id={call.args['name']}")
    return api.feed(call, "alerts/fired_alerts", [])


@route("alerts/webhook_deliveries", "GET")
def list_deliveries(api: Splunkd, call: Call) -> Response:
    """The lab's outbox (not a Splunk endpoint): every webhook delivery, newest first."""
    alerting = _alerting(api)
    out = [
        {
            "id": d.id, "search_name": d.search, "sid": d.sid, "url": d.url, "status": d.status,
            "attempts": d.attempts, "last_error": d.last_error, "http_status": d.http_status,
            "created": d.created, "finished": d.finished, "next_attempt": d.next_attempt,
        }
        for d in alerting.state.deliveries()
    ]  # fmt: skip
    if call.mode == "json":
        return Response(json.dumps({"deliveries": out}), content_type=JSON)
    entities = [
        atom.Entity(
            str(d["id"]),
            "alerts/webhook_deliveries",
            {k: "" if v is None else str(v) for k, v in d.items()},
            owner="nobody",
            app="search",
        )
        for d in out
    ]
    return Response(atom.feed("webhook_deliveries", entities, call.base), content_type=XML)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Triggered alerts - local Splunk</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f6f6f6;color:#222}
header{background:#1a1c20;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header a{color:#9fd3ff} main{padding:16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eee} .delivered{color:#176f2c} .pending{color:#a36a00} .failed{color:#b00020}
.hl{background:#fff7cc} #msg{color:#b00020}
</style></head><body>
<header><b>splunk&gt;</b> <span>Triggered alerts</span>
<a href="/en-US/app/search/search">Search</a>
<button id="reload">Refresh</button></header>
<main><p id="msg"></p>
<table id="alerts"><thead><tr><th>Time (UTC)</th><th>Saved search</th><th>How</th>
<th>Results</th><th>Severity</th><th>sid</th><th>Webhook</th></tr></thead><tbody></tbody></table>
<h3>Webhook deliveries</h3>
<table id="deliveries"><thead><tr><th>Queued (UTC)</th><th>Saved search</th><th>URL</th>
<th>Status</th><th>Attempts</th><th>Last error</th></tr></thead><tbody></tbody></table>
</main>
<script>
const key = sessionStorage.getItem("splunkSessionKey");
const want = new URLSearchParams(location.search).get("sid");
function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text;
  if (cls) td.className = cls; tr.append(td); }
async function load() {
  const body = document.querySelector("#alerts tbody"); body.replaceChildren();
  if (!key) { document.getElementById("msg").textContent =
    "Log in on the search page first (this page reads the same REST API)."; return; }
  const resp = await fetch("/services/alerts/fired_alerts/-?output_mode=json&count=0",
    {headers: {Authorization: "Splunk " + key}});
  if (!resp.ok) { document.getElementById("msg").textContent =
    "Cannot list alerts: HTTP " + resp.status; return; }
  const data = await resp.json();
  if (!data.entry.length) { const tr = document.createElement("tr");
    cell(tr, "No alerts have fired.");
    body.append(tr); return; }
  for (const e of data.entry) {
    const c = e.content, tr = document.createElement("tr");
    if (want && c.sid === want) tr.className = "hl";
    cell(tr, c.trigger_time_rendered); cell(tr, c.savedsearch_name); cell(tr, c.trigger_mode);
    cell(tr, c.result_count); cell(tr, c.severity); cell(tr, c.sid);
    const hook = c.webhook_status ? c.webhook_status + " (" + c.webhook_attempts + " attempt(s))"
      + (c.webhook_error ? ": " + c.webhook_error : "") : "-";
    cell(tr, hook, c.webhook_status || "");
    body.append(tr);
  }
  const out = document.querySelector("#deliveries tbody"); out.replaceChildren();
  const sent = await fetch("/services/alerts/webhook_deliveries?output_mode=json",
    {headers: {Authorization: "Splunk " + key}});
  if (!sent.ok) return;
  for (const d of (await sent.json()).deliveries) {
    const tr = document.createElement("tr");
    cell(tr, new Date(d.created * 1000).toISOString().replace("T", " ").slice(0, 19));
    cell(tr, d.search_name); cell(tr, d.url); cell(tr, d.status, d.status);
    cell(tr, String(d.attempts)); cell(tr, d.last_error || "");
    out.append(tr);
  }
}
document.getElementById("reload").addEventListener("click", load);
load();
</script></body></html>
"""
