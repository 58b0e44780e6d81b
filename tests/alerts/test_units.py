"""The pure parts of alerting: conditions, periods, throttle keys, cron due times, the outbox."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest

from helpers.runtime.queue import Backoff, Worker
from labstack.splunk.alerting import conditions as cond
from labstack.splunk.alerting.actions import ActionSettings, build
from labstack.splunk.alerting.actions.webhook import payload
from labstack.splunk.alerting.engine import _last_due, results_link
from labstack.splunk.alerting.outbox import Outbox
from labstack.splunk.alerting.rule import AlertRule, ConditionError, period_seconds
from labstack.splunk.alerting.state import AlertState, Fired

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
    assert cond.triggered(AlertRule.parse("a", attrs), ROWS, previous) is expected


def test_custom_condition_runs_the_given_search():
    seen = []
    rule = AlertRule.parse("a", {"alert_type": "custom", "alert_condition": "search host=b"})
    assert cond.triggered(rule, ROWS, custom=lambda spl, rows: seen.append(spl) or True)
    assert seen == ["search host=b"]
    with pytest.raises(ConditionError, match="alert_condition is empty"):
        cond.triggered(AlertRule.parse("a", {"alert_type": "custom"}), ROWS, custom=lambda *_: 1)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172800), ("45", 45)]
)
def test_periods(text, seconds):
    assert period_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10 parsecs", "-5m"])
def test_bad_periods(text):
    with pytest.raises(ConditionError, match="Invalid time period"):
        period_seconds(text)


def _rule(**attrs) -> AlertRule:
    return AlertRule.parse("a", {k.replace("__", "."): v for k, v in attrs.items()})


def test_realtime_windows():
    assert _rule(dispatch__earliest_time="rt-30s").realtime
    assert not _rule(dispatch__earliest_time="-30s").realtime
    assert _rule(dispatch__earliest_time="rt").window is None
    assert _rule(dispatch__earliest_time="rt-1h@h").window == "-1h@h"


@pytest.mark.parametrize(
    ("attrs", "named"),
    [
        ({"cron_schedule": "every day"}, "cron_schedule"),
        ({"alert_type": "sometimes"}, "alert_type"),
        ({"alert_comparator": "bigger than"}, "alert_comparator"),
        ({"alert_threshold": "many"}, "alert_threshold"),
        ({"alert.suppress.period": "soon"}, "alert.suppress.period"),
        ({"alert.expires": "never"}, "alert.expires"),
    ],
)
def test_a_rule_names_the_setting_it_cannot_read(attrs, named):
    with pytest.raises(ConditionError, match=re.escape(named)):
        AlertRule.parse("a", attrs)


def test_a_rule_reads_every_setting_once():
    rule = AlertRule.parse(
        "Lab Alert",
        {"search": "index=main | stats count", "is_scheduled": "True", "cron_schedule": "* * * * *",
         "alert_type": "Number of Events", "alert_comparator": "greater than",
         "alert_threshold": "5", "alert.digest_mode": "0", "alert.suppress": "1",
         "alert.suppress.fields": "user, src", "alert.suppress.period": "10m",
         "alert.expires": "2h", "alert.track": "1", "actions": "webhook, aws_sns_alert",
         "action.aws_sns_alert.param.topic_name": " alerts "},
        owner="admin",
    )  # fmt: skip
    assert rule.active and not rule.realtime and rule.cron == "* * * * *"
    assert (rule.kind, rule.alert_type, rule.threshold) == (
        "number of events",
        "Number of Events",
        5,
    )
    assert (rule.digest, rule.suppress, rule.suppress_fields) == (False, True, ("user", "src"))
    assert (rule.suppress_period, rule.expires, rule.track) == (600.0, 7200.0, True)
    assert rule.actions == ("webhook", "aws_sns_alert")
    assert rule.param("aws_sns_alert", "topic_name") == "alerts"
    assert rule.search == "search index=main | stats count" and rule.owner == "admin"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.cron = ""


def test_suppress_keys_use_the_named_fields_only():
    attrs = _rule(alert__suppress__fields="resource, account")
    one = cond.suppress_key(attrs, {"resource": "sg-1", "account": "1", "eventID": "x"})
    same = cond.suppress_key(attrs, {"resource": "sg-1", "account": "1", "eventID": "y"})
    other = cond.suppress_key(attrs, {"resource": "sg-2", "account": "1"})
    assert one == same != other
    assert cond.suppress_key(_rule(), {"resource": "sg-1"}) == ""


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
    link = results_link("http://h", "app", "sid1")
    body = payload({"count": 3, "tags": ["a", 1], "empty": None}, "sid1", "n", "o", "app", link)
    assert body["result"] == {"count": "3", "tags": ["a", "1"], "empty": ""}
    assert body["results_link"] == "http://h/app/app/@go?sid=sid1"


HOOK = ("webhook", "http://127.0.0.1:9/hook", {"result": {}})


def _fired(name: str = "sid", expires: float = 2000.0) -> Fired:
    return Fired(0, name, "s", name, 1000.0, 1, True, "3", "webhook", "always", "dispatch",
                 "nobody", "search", expires)  # fmt: skip


def test_outbox_backs_off_then_gives_up(tmp_path, monkeypatch):
    clock = [1000.0]
    backoff = Backoff(base=2.0, factor=2.0, cap=60.0, jitter=0)
    state = AlertState(tmp_path / "alerts.sqlite", attempts=3, backoff=backoff)
    state.webhooks.clock = lambda: clock[0]
    fired = state.record(_fired(), [HOOK], clock[0])
    outbox = Outbox(state, build(ActionSettings()))

    def refused(url, body, timeout):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr("labstack.splunk.alerting.actions.webhook.post", refused)
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
    fired = state.record(_fired(), [HOOK], 1000.0)
    monkeypatch.setattr(
        "labstack.splunk.alerting.actions.webhook.post", lambda url, body, timeout: (429, 120.0)
    )
    [due] = state.webhooks.claim()
    Worker(state.webhooks, Outbox(state, build(ActionSettings())).deliver).process(due)
    [after] = state.deliveries(fired.id)
    assert (after.status, after.http_status, after.attempts) == ("pending", 429, 1)
    assert after.next_attempt - after.created >= 119.0


def test_a_4xx_is_a_dead_letter_at_once_and_can_be_replayed(tmp_path, monkeypatch):
    state = AlertState(tmp_path / "alerts.sqlite")
    fired = state.record(_fired(), [HOOK], 1000.0)
    monkeypatch.setattr(
        "labstack.splunk.alerting.actions.webhook.post", lambda url, body, timeout: (404, None)
    )
    [due] = state.webhooks.claim()
    Worker(state.webhooks, Outbox(state, build(ActionSettings())).deliver).process(due)
    [after] = state.deliveries(fired.id)
    assert (after.status, after.http_status, after.attempts) == ("failed", 404, 1)
    assert state.webhooks.replay() == 1
    assert state.deliveries(fired.id)[0].status == "pending"


def test_prune_forgets_expired_state_and_keeps_pending_deliveries(tmp_path):
    state = AlertState(tmp_path / "alerts.sqlite")
    state.suppress("s", "k", until=10.0)
    state.suppress("s", "live", until=100.0)
    for number, expires in enumerate((10.0, 100.0)):
        state.record(_fired(f"sid{number}", expires), [HOOK], now=1.0)
    state.prune(now=50.0, keep=0)
    assert [t[1] for t in state.throttles(now=50.0)] == ["live"]
    assert [f.name for f in state.fired(now=0.0)] == ["sid1"]
    assert len(state.webhooks.messages("ready")) == 2  # pending deliveries are never pruned
