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

A saved search's settings are read once, when it is stored, into an :class:`~.rule.AlertRule`.
Each run's results go through the alert condition (:mod:`.conditions`), ``alert.digest_mode``
(one trigger per run, or one per result) and throttling (``alert.suppress.period``, keyed by
``alert.suppress.fields``, kept in ``alerts.sqlite`` so a restart keeps it). A trigger is
recorded as a fired alert (``GET alerts/fired_alerts``, the ``/en-US/app/search/alerts`` page)
and each of its alert actions (``actions=webhook,aws_sns_alert``, see :mod:`.actions`) is queued
in the persistent outbox (:mod:`.outbox`) in the same transaction.

As in Splunk, only alerts with ``alert.track=1`` are listed in ``alerts/fired_alerts``; every
delivery, tracked or not, is listed by the lab-only ``alerts/deliveries`` endpoint and on the
alerts page. Differences from Splunk worth knowing: a real-time search is evaluated per indexed
batch (no preview, no backfill of events indexed before it was saved); a hand-dispatched
real-time search runs once over its window.

>>> alerting = Alerting(store, saved, jobs, state, web="http://127.0.0.1:8089")  # doctest: +SKIP
>>> saved.listeners.append(alerting.on_saved_change)  # doctest: +SKIP
>>> alerting.start()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as _wait_all
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from croniter import croniter

from helpers.runtime.queue import Backoff
from labstack.splunk.alerting import actions as alert_actions
from labstack.splunk.alerting import conditions as cond
from labstack.splunk.alerting.actions import Action, ActionError, ActionSettings, Trigger
from labstack.splunk.alerting.outbox import ATTEMPTS, BACKOFF, JITTER, MAX_BACKOFF, Outbox
from labstack.splunk.alerting.rule import AlertRule, ConditionError
from labstack.splunk.alerting.search import BatchStore, search_rows
from labstack.splunk.alerting.state import AlertState, Fired
from labstack.splunk.jobs import Jobs
from labstack.splunk.results import clean_rows
from labstack.splunk.saved import SavedSearch, SavedSearches, flag
from labstack.splunk.spl import SPLError
from labstack.splunk.store import EventStore

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


@dataclass(frozen=True)
class Options:
    """Tunables (``config.Config`` reads them from the environment)."""

    tick: float = TICK
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF


def _md5(name: str) -> str:
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:16]


def results_link(web: str, app: str, sid: str) -> str:
    """Where Splunk Web shows a job's results (what ``$results_link$`` names)."""
    return f"{web}/app/{quote(app)}/@go?sid={quote(sid, safe='')}"


class Alerting:
    """Scheduler, real-time evaluation and alert firing over one store's saved searches.

    ``actions`` are the alert actions by name (default: every registered one, built with
    ``action_settings``)."""

    def __init__(
        self,
        store: EventStore,
        saved: SavedSearches,
        jobs: Jobs,
        state_dir: Path,
        web: str,
        options: Options | None = None,
        actions: dict[str, Action] | None = None,
        action_settings: ActionSettings | None = None,
    ):
        self.store = store
        self.saved = saved
        self.jobs = jobs
        self.web = web.rstrip("/")
        self.options = options or Options()
        self.clock = time.time
        backoff = Backoff(base=self.options.backoff, cap=MAX_BACKOFF, jitter=JITTER)
        self.state = AlertState(
            Path(state_dir) / "alerts.sqlite", attempts=self.options.attempts, backoff=backoff
        )
        self.actions = (
            actions
            if actions is not None
            else alert_actions.build(action_settings or ActionSettings())
        )
        self.outbox = Outbox(self.state, self.actions)
        self._stop = threading.Event()
        self._seq = itertools.count(1)
        self._running: set[tuple] = set()
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()
        self._pool = ThreadPoolExecutor(SCHEDULER_WORKERS, thread_name_prefix="scheduler")
        self._rt_pool = ThreadPoolExecutor(RT_WORKERS, thread_name_prefix="realtime")
        self._throttle_lock = threading.Lock()
        self._batches: queue.Queue[list[dict] | None] = queue.Queue()
        #: The rule of every saved search whose settings can be read, by the search's key
        #: (two searches of one name in two namespaces are two rules).
        self._rules: dict[tuple, AlertRule] = {}
        self._realtime: list[tuple] = []
        self._threads: list[threading.Thread] = []
        for saved_search in self.saved.list():
            self._load_rule(saved_search)
        self._refresh_realtime()

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

    # -- rules -----------------------------------------------------------------------------------
    def check(self, name: str, attrs: dict) -> None:
        """Reject alert settings Splunk would reject on save (ConditionError names the
        attribute): the API calls this before it stores a saved search."""
        rule = AlertRule.parse(name, attrs)
        for action_name in rule.actions:
            action = self.actions.get(action_name)
            if action is not None:
                action.check(rule)

    def _load_rule(self, saved: SavedSearch) -> AlertRule | None:
        try:
            rule = AlertRule.of(saved)
        except ConditionError as exc:  # stored before the check existed: say so, skip it
            self._rules.pop(saved.key, None)
            self._warn_once(saved.name, f"alert settings: {exc}")
            return None
        self._rules[saved.key] = rule
        return rule

    def adopt_pre_namespace(self) -> None:
        """An alert state from before namespaces kept throttles and counts by search name:
        each search whose name in the state is now told apart by where it lives
        (:attr:`AlertRule.state_name`: an installed app's, a private one) takes its own."""
        for rule in list(self._rules.values()):
            if rule.state_name != rule.name:
                self.state.rename_search(rule.name, rule.state_name)

    def rule(self, key: tuple) -> AlertRule | None:
        """The rule of the saved search whose key is ``key``."""
        return self._rules.get(key)

    def on_saved_change(self, key: tuple, saved: SavedSearch | None) -> None:
        """The saved searches' listener: re-read a changed search's rule, forget a deleted one."""
        if saved is None:
            rule = self._rules.pop(key, None)
            if rule is not None:
                self.state.forget_search(rule.state_name)
        else:
            self._load_rule(saved)
        self._refresh_realtime()

    def _refresh_realtime(self) -> None:
        self._realtime = [n for n, r in self._rules.items() if r.active and r.realtime]

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
        for rule in list(self._rules.values()):
            if not rule.active or rule.realtime or not rule.cron:
                continue
            try:
                when = _last_due(rule.cron, after, until)
            except (ValueError, KeyError) as exc:
                self._warn_once(rule.name, f"invalid cron_schedule {rule.cron!r}: {exc}")
                continue
            if when is None:
                continue
            with self._lock:
                if rule.key in self._running:  # max_concurrent=1: skip, as Splunk does
                    log.info("skipping %r at %s: the previous run is still going", rule.name,
                             when)  # fmt: skip
                    continue
                self._running.add(rule.key)
            self._pool.submit(self._run_scheduled, rule, when)
            started.append(rule.name)
        return started

    def _run_scheduled(self, rule: AlertRule, when: float) -> None:
        try:
            job = self.jobs.create(
                rule.search,
                rule.earliest,
                rule.latest,
                now=when,
                params={"search": rule.search, "scheduled_time": str(int(when))},
                label=rule.name,
                blocking=True,
                namespace=rule.namespace,
            )
            if job.state == "DONE":
                self.evaluate(rule, job.sid, job.rows, "scheduled", when)
            else:
                log.warning("scheduled search %r failed: %s", rule.name, job.messages)
        except SPLError as exc:
            self._warn_once(rule.name, f"scheduled search failed: {exc}")
        except Exception:
            log.exception("scheduled search %r failed", rule.name)
        finally:
            with self._lock:
                self._running.discard(rule.key)

    def _warn_once(self, name: str, text: str) -> None:
        if (name, text) not in self._warned:
            self._warned.add((name, text))
            log.warning("saved search %r: %s", name, text)

    # -- dispatch(trigger_actions=1) ------------------------------------------------------------
    def on_dispatch(self, saved: SavedSearch, job, params: dict) -> None:
        """Called by the API after ``saved/searches/<name>/dispatch``: with ``trigger_actions``
        the finished job may alert."""
        if not flag(params.get("trigger_actions", "0")):
            return
        rule = self._rules.get(saved.key) or self._load_rule(saved)
        if rule is None:
            return

        def finish():
            job.done.wait()
            if job.state == "DONE":
                self.evaluate(rule, job.sid, job.rows, "dispatch", job.now)

        if job.done.is_set():  # the usual case: the alert is on record when dispatch answers
            finish()
        else:
            threading.Thread(target=finish, name="dispatch-actions", daemon=True).start()

    # -- real time -------------------------------------------------------------------------------
    def on_events(self, events: list[dict]) -> None:
        """The store's add hook: queue the batch for the real-time worker (never blocks)."""
        if self._realtime and events:
            self._batches.put(events)

    def _realtime_loop(self) -> None:
        # Two batch stores, used in turn: the next batch is loaded (its JSON parsed) while the
        # searches of the previous one still run. Its searches start only once those are done,
        # so batches fire in order (throttles see the earlier batch's results first).
        first = BatchStore(self.store)
        stores = (first, BatchStore(self.store, wanted=first.wanted))
        running: list[Future] = []
        try:
            for turn in itertools.count():
                parts = self._next_batch()
                if parts is None:
                    return
                started = time.monotonic()
                try:
                    stores[turn % 2].replace(parts)
                    _wait(running)
                    running = self._start_batch(stores[turn % 2])
                except Exception:
                    log.exception("real-time evaluation failed")
                took = time.monotonic() - started
                if took > RT_SLOW and self._batches.qsize():
                    # The catalog's searches run in DuckDB (bench/realtime_bench.py); a search
                    # that hands many events to Python (spath, rex, a regex RE2 cannot take)
                    # costs far more: a bulk load makes real-time alerts late, never lost.
                    log.warning(
                        "real-time alerting is behind: %d events took %.1f s, %d batches waiting",
                        sum(map(len, parts)), took, self._batches.qsize(),
                    )  # fmt: skip
        finally:
            _wait(running)
            for store in stores:
                store.close()

    def _next_batch(self) -> list[list[dict]] | None:
        """The next events to evaluate, as the batches the store added (several at once when
        behind), or None when alerting stops."""
        first = self._batches.get()
        if first is None:
            return None
        parts, count = [first], len(first)
        while count < RT_MERGE_EVENTS:  # catch up in one go when behind
            try:
                more = self._batches.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return None
            parts.append(more)
            count += len(more)
        return parts

    def _start_batch(self, batch_store: BatchStore) -> list[Future]:
        """Start every real-time search over the events ``batch_store`` holds."""
        now = self.clock()
        return [self._rt_pool.submit(self._realtime_one, batch_store, n, now)
                for n in list(self._realtime)]  # fmt: skip

    def evaluate_batch(self, batch_store: BatchStore, events: list[dict]) -> list[Fired]:
        """Run every real-time search over ``events`` (just indexed) and fire what matches.

        The searches run side by side (DuckDB searches in parallel), and each fires as soon as
        its own search is done, so one slow search does not delay the others' actions."""
        if not self._realtime:
            return []
        batch_store.replace(events)
        return [f for run in self._start_batch(batch_store) for f in run.result()]

    def _realtime_one(self, batch_store: BatchStore, key: tuple, now: float) -> list[Fired]:
        rule = self._rules.get(key)
        if rule is None:
            return []
        name = rule.name
        try:
            found = batch_store.search(
                rule.search, earliest=rule.window, now=now, namespace=rule.namespace
            )
            rows = clean_rows(found.fields, found.rows)
            if not rows:
                return []
            if rule.kind != "always" and rule.window is not None:
                # A rolling-window condition counts over the whole window, not the batch.
                whole = self.store.search(
                    rule.search, earliest=rule.window, now=now, namespace=rule.namespace
                )
                rows = clean_rows(whole.fields, whole.rows)
            sid = (
                f"rt_scheduler__{rule.owner}__{rule.app}__RMD5{_md5(name)}"
                f"_at_{int(now)}_{next(self._seq)}"
            )
            return self.evaluate(rule, sid, rows, "realtime", now)
        except SPLError as exc:
            self._warn_once(name, f"real-time search failed: {exc}")
        except Exception:
            log.exception("real-time search %r failed", name)
        return []

    # -- triggering ------------------------------------------------------------------------------
    def evaluate(
        self, rule: AlertRule, sid: str, rows: list[dict], mode: str, when: float
    ) -> list[Fired]:
        """Apply the alert condition, digest mode and throttling to one run's results; record
        and queue what fires. Returns the fired alerts."""
        try:
            previous = None
            if mode != "realtime" and rule.comparator.startswith(("drops", "rises")):
                previous = self.state.swap_count(rule.state_name, cond.measure(rule, rows))
            hit = cond.triggered(
                rule,
                rows,
                previous,
                custom=lambda spl, rs: bool(
                    search_rows(self.store, spl, rs, namespace=rule.namespace)
                ),
            )
        except (ConditionError, SPLError) as exc:
            self._warn_once(rule.name, f"alert condition: {exc}")
            return []
        if not hit:
            return []
        if rule.digest:
            triggers = [tuple(rows)]
        else:
            triggers = [(row,) for row in rows]  # per result; no results trigger nothing
            if not triggers and rule.kind != "always":
                triggers = [()]
        with self._throttle_lock:  # check-and-set: a dispatch may race a real-time trigger
            triggers = self._unthrottled(rule, triggers, self.clock())
        return self._fire(rule, sid, triggers, len(rows), mode)

    def _unthrottled(self, rule: AlertRule, triggers: list[tuple], now: float) -> list[tuple]:
        """The triggers throttling lets through (each trigger: its results; the first counts)."""
        if not rule.suppress or not triggers:
            return triggers
        name, period = rule.state_name, rule.suppress_period
        if not rule.suppress_fields:
            # No fields: the whole alert is suppressed once it triggered.
            if self.state.suppressed(name, "", now):
                return []
            self.state.suppress(name, "", now + period)
            return triggers
        kept, seen = [], set()
        for rows in triggers:
            key = cond.suppress_key(rule, rows[0] if rows else None)
            if key in seen or self.state.suppressed(name, key, now):
                continue
            seen.add(key)
            self.state.suppress(name, key, now + period)
            kept.append(rows)
        return kept

    def _fire(self, rule: AlertRule, sid: str, triggers: list[tuple], count: int, mode: str):
        if not triggers:
            return []
        now = self.clock()
        link = results_link(self.web, rule.app, sid)
        fired = []
        for number, rows in enumerate(triggers):
            record = Fired(
                id=0, name=sid if rule.digest else f"{sid}_{number}", search=rule.name, sid=sid,
                trigger_time=now, result_count=count if rule.digest else 1, digest=rule.digest,
                severity=rule.severity, actions=",".join(rule.actions),
                alert_type=rule.alert_type, mode=mode, owner=rule.owner, app=rule.app,
                expires=now + rule.expires, tracked=rule.track,
            )  # fmt: skip
            trigger = Trigger(rule, sid, rows, now, link)
            fired.append(self.state.record(record, self._deliveries(trigger), now))
        log.info("alert %r fired %d time(s) (%s, sid %s)", rule.name, len(fired), mode, sid)
        self.outbox.wake()
        return fired

    def _deliveries(self, trigger: Trigger) -> list[tuple[str, str, dict]]:
        """What each of the rule's actions queues for one trigger: (action, target, payload)."""
        out = []
        for name in trigger.rule.actions:
            action = self.actions.get(name)
            if action is None:
                continue  # email, script...: not emulated (the fired alert still names them)
            try:
                out += [(name, d.target, d.payload) for d in action.prepare(trigger)]
            except ActionError as exc:
                self._warn_once(trigger.rule.name, str(exc))
        return out


def _wait(futures: list[Future]) -> None:
    """Until every future is done (their errors are logged where they run)."""
    if futures:
        _wait_all(futures)


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
