"""The pure parts of alerting: conditions, periods, throttle keys, cron due times, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpers.runtime.queue import Backoff, Worker
from labstack.splunk import alert_conditions as cond
from labstack.splunk.alert_state import AlertState, Fired
from labstack.splunk.alert_webhook import Outbox, payload
from labstack.splunk.alerts import _last_due

ROWS = [{"host": "a", "source": "s1"}, {"host": "a", "source": "s2"}, {"host": "b"}]


def _attrs(kind="number of events", comparator="greater than", threshold="2"):
    return {"alert_type": kind, "alert_comparator": comparator, "alert_threshold": threshold}


@pytest.mark.parametrize(
    ("attrs", "previous", "expected"),
    [
        (_attrs(), None, True),
        (_attrs(threshold="3"), None, False),
        (_attrs("number of results", "equal to", "3"), None, True),
        (_attrs("number of results", "not equal to", "3"), None, False),
        (_attrs("number of hosts", "equal to", "2"), None, True),
        (_attrs("number of sources", "less than", "3"), None, True),
        (_attrs(comparator="rises by", threshold="1"), None, False),  # no previous run
        (_attrs(comparator="rises by", threshold="1"), 1, True),
        (_attrs(comparator="drops by", threshold="1"), 5, True),
        (_attrs(comparator="drops by", threshold="1"), 4, False),
        (_attrs(comparator="rises by perc", threshold="50"), 2, False),
        (_attrs(comparator="drops by perc", threshold="50"), 10, True),
        ({"alert_type": "always"}, None, True),
        ({}, None, True),
    ],
)
def test_triggered(attrs, previous, expected):
    assert cond.triggered(attrs, ROWS, previous) is expected


def test_custom_condition_runs_the_given_search():
    seen = []
    attrs = {"alert_type": "custom", "alert_condition": "search host=b"}
    assert cond.triggered(attrs, ROWS, custom=lambda spl, rows: seen.append(spl) or True)
    assert seen == ["search host=b"]
    with pytest.raises(cond.ConditionError, match="alert_condition is empty"):
        cond.triggered({"alert_type": "custom"}, ROWS, custom=lambda *_: True)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172800), ("45", 45)]
)
def test_periods(text, seconds):
    assert cond.period_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10 parsecs", "-5m"])
def test_bad_periods(text):
    with pytest.raises(cond.ConditionError, match="Invalid time period"):
        cond.period_seconds(text)


def test_realtime_windows():
    assert cond.is_realtime({"dispatch.earliest_time": "rt-30s"})
    assert not cond.is_realtime({"dispatch.earliest_time": "-30s"})
    assert cond.realtime_window({"dispatch.earliest_time": "rt"}) is None
    assert cond.realtime_window({"dispatch.earliest_time": "rt-1h@h"}) == "-1h@h"


def test_suppress_keys_use_the_named_fields_only():
    attrs = {"alert.suppress.fields": "resource, account"}
    one = cond.suppress_key(attrs, {"resource": "sg-1", "account": "1", "eventID": "x"})
    same = cond.suppress_key(attrs, {"resource": "sg-1", "account": "1", "eventID": "y"})
    other = cond.suppress_key(attrs, {"resource": "sg-2", "account": "1"})
    assert one == same != other
    assert cond.suppress_key({}, {"resource": "sg-1"}) == ""


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_cron_due_times_are_the_latest_in_the_tick():
    after, until = _ts("2026-01-01T12:04:00"), _ts("2026-01-01T12:05:00")
    assert _last_due("*/5 * * * *", after, until) == until
    assert _last_due("*/5 * * * *", until, until + 60) is None
    # a tick that covered several occurrences runs the search once, for the latest
    assert _last_due("* * * * *", after - 600, until) == until
    assert _last_due("* * * * * */10", after, after + 25) == after + 20


def test_payload_values_are_strings():
    body = payload(
        {"count": 3, "tags": ["a", 1], "empty": None}, "sid1", "n", "o", "app", "http://h"
    )
    assert body["result"] == {"count": "3", "tags": ["a", "1"], "empty": ""}
    assert body["results_link"] == "http://h/app/app/@go?sid=sid1"


def _fired(name: str = "sid", expires: float = 2000.0) -> Fired:
    return Fired(0, name, "s", name, 1000.0, 1, True, "3", "webhook", "always", "dispatch",
                 "nobody", "search", expires)  # fmt: skip


def test_outbox_backs_off_then_gives_up(tmp_path, monkeypatch):
    clock = [1000.0]
    backoff = Backoff(base=2.0, factor=2.0, cap=60.0, jitter=0)
    state = AlertState(tmp_path / "alerts.sqlite", attempts=3, backoff=backoff)
    state.webhooks.clock = lambda: clock[0]
    fired = state.record(_fired(), [("http://127.0.0.1:9/hook", {"result": {}})], clock[0])
    outbox = Outbox(state)

    def refused(url, body, timeout):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr("labstack.splunk.alert_webhook.post", refused)
    delays = []
    worker = Worker(state.webhooks, outbox.deliver)
    for _ in range(3):
        [due] = state.webhooks.claim()
        worker.process(due)
        [after] = state.deliveries(fired.id)
        delays.append(after.next_attempt - clock[0])
        clock[0] = max(after.next_attempt, clock[0])
    assert delays[:2] == [2.0, 4.0]
    assert (after.status, after.attempts) == ("failed", 3)
    assert state.webhooks.claim() == [] and len(state.webhooks.dead_letters()) == 1


def test_a_429_is_retried_after_its_retry_after(tmp_path, monkeypatch):
    state = AlertState(tmp_path / "alerts.sqlite", attempts=3)
    fired = state.record(_fired(), [("http://127.0.0.1:9/hook", {})], 1000.0)
    monkeypatch.setattr(
        "labstack.splunk.alert_webhook.post", lambda url, body, timeout: (429, 120.0)
    )
    [due] = state.webhooks.claim()
    Worker(state.webhooks, Outbox(state).deliver).process(due)
    [after] = state.deliveries(fired.id)
    assert (after.status, after.http_status, after.attempts) == ("pending", 429, 1)
    assert after.next_attempt - after.created >= 119.0


def test_a_4xx_is_a_dead_letter_at_once_and_can_be_replayed(tmp_path, monkeypatch):
    state = AlertState(tmp_path / "alerts.sqlite")
    fired = state.record(_fired(), [("http://127.0.0.1:9/hook", {})], 1000.0)
    monkeypatch.setattr(
        "labstack.splunk.alert_webhook.post", lambda url, body, timeout: (404, None)
    )
    [due] = state.webhooks.claim()
    Worker(state.webhooks, Outbox(state).deliver).process(due)
    [after] = state.deliveries(fired.id)
    assert (after.status, after.http_status, after.attempts) == ("failed", 404, 1)
    assert state.webhooks.replay() == 1
    assert state.deliveries(fired.id)[0].status == "pending"


def test_prune_forgets_expired_state_and_keeps_pending_deliveries(tmp_path):
    state = AlertState(tmp_path / "alerts.sqlite")
    state.suppress("s", "k", until=10.0)
    state.suppress("s", "live", until=100.0)
    for number, expires in enumerate((10.0, 100.0)):
        state.record(_fired(f"sid{number}", expires), [("http://127.0.0.1:9/hook", {})], now=1.0)
    state.prune(now=50.0, keep=0)
    assert [t[1] for t in state.throttles(now=50.0)] == ["live"]
    assert [f.name for f in state.fired(now=0.0)] == ["sid1"]
    assert len(state.webhooks.messages("ready")) == 2  # pending deliveries are never pruned
