"""Alerting in a Splunk process of its own: the cron scheduler, restarts, giving up on a
receiver. Each test starts ``python -m labstack.splunk`` with its own state directory and
settings (``LAB_SPLUNK_*``)."""

from __future__ import annotations

import time

from helpers.receivers import Receiver
from labstack.world import free_port
from tests.alerts.alertlab import Alerts, wait_for
from tests.splunk.splunklab import splunk_process, unique


def _lab(splunk) -> Alerts:
    service = splunk.connect()
    index = unique("ix")
    service.indexes.create(index)
    return Alerts(splunk, service, index)


def test_scheduler_runs_on_cron_over_the_window_relative_to_the_scheduled_time(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("LAB_SPLUNK_SCHEDULER_SECONDS", "1")
    with splunk_process(tmp_path / "state") as splunk, Receiver() as receiver:
        lab = _lab(splunk)
        now = time.time()
        lab.send({"user": "old", "action": "fail"}, time=now - 3600)
        lab.send({"user": "new", "action": "fail"}, time=now)
        saved = lab.create(
            "search index={index} action=fail",
            receiver.url,
            # croniter's sixth field is seconds: every second, so the test need not wait a minute
            cron_schedule="* * * * * *",
            alert_type="number of events",
            alert_comparator="greater than",
            alert_threshold="0",
            **{
                "dispatch.earliest_time": "-2h",
                "dispatch.latest_time": "-30m",
                "alert.suppress": "1",
                "alert.suppress.period": "1h",
            },
        )
        [body] = receiver.wait(1)
        assert body["result"]["user"] == "old"  # only the window's event
        [fired] = lab.fired(saved.name)
        assert fired["trigger_mode"] == "scheduled" and fired["result_count"] == "1"
        history = saved.history()
        assert history and history[0]["label"] == saved.name


def test_disabled_or_unscheduled_searches_do_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_SPLUNK_SCHEDULER_SECONDS", "1")
    with splunk_process(tmp_path / "state") as splunk, Receiver() as receiver:
        lab = _lab(splunk)
        lab.send({"action": "fail"})
        every_second = {"cron_schedule": "* * * * * *", "dispatch.earliest_time": "-1h"}
        off = lab.create("search index={index}", receiver.url, disabled="1", **every_second)
        unscheduled = lab.create("search index={index}", receiver.url, is_scheduled="0",
                                 **every_second)  # fmt: skip
        sentinel = lab.create("search index={index}", receiver.url, **every_second,
                              **{"alert.suppress": "1", "alert.suppress.period": "1h"})  # fmt: skip
        # the sentinel fires on a later tick than the one that would have run the others
        receiver.wait(1, where=lambda p: p["search_name"] == sentinel.name)
        time.sleep(2.5)  # let at least two more ticks pass (not a speed assertion)
        names = {p["search_name"] for p in receiver.payloads}
        assert off.name not in names and unscheduled.name not in names


def test_restart_keeps_throttles_and_the_outbox(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_SPLUNK_WEBHOOK_BACKOFF", "0.2")
    state = tmp_path / "state"
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    throttle = {
        "alert.digest_mode": "0",
        "alert.suppress": "1",
        "alert.suppress.period": "1h",
        "alert.suppress.fields": "user",
    }
    with splunk_process(state) as splunk:
        lab = _lab(splunk)
        lab.send({"user": "alice", "action": "fail"})
        saved = lab.create("search index={index} action=fail", url, **throttle)
        lab.dispatch(saved)
        wait_for(lambda: int(lab.fired(saved.name)[0]["webhook_attempts"]) >= 1)
        assert lab.fired(saved.name)[0]["webhook_status"] == "pending"
        name, index = saved.name, lab.index
    with splunk_process(state) as splunk, Receiver(port=port) as receiver:
        lab = _lab(splunk)
        lab.index = index
        [body] = receiver.wait(1, timeout=60)  # queued before the restart, delivered after it
        assert body["search_name"] == name and body["result"]["user"] == "alice"
        saved = lab.service.saved_searches[name]
        lab.dispatch(saved)  # alice is still suppressed
        assert len(lab.fired(name)) == 1
        lab.send({"user": "bob", "action": "fail"})
        lab.dispatch(saved)
        second = receiver.wait(2)[1]
        assert second["result"]["user"] == "bob"


def test_a_delivery_is_given_up_after_the_attempts_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_SPLUNK_WEBHOOK_ATTEMPTS", "2")
    monkeypatch.setenv("LAB_SPLUNK_WEBHOOK_BACKOFF", "0.1")
    with splunk_process(tmp_path / "state") as splunk:
        lab = _lab(splunk)
        lab.send({"action": "fail"})
        saved = lab.create("search index={index}", f"http://127.0.0.1:{free_port()}/hook")
        lab.dispatch(saved)
        fired = wait_for(
            lambda: [f for f in lab.fired(saved.name) if f["webhook_status"] == "failed"]
        )[0]
        assert fired["webhook_attempts"] == "2" and fired["webhook_error"]
        log = (tmp_path / "state.log").read_text()
        assert "failed after 2 attempt(s)" in log


def test_a_receiver_answering_4xx_is_not_retried(tmp_path):
    with splunk_process(tmp_path / "state") as splunk, Receiver(status=404) as receiver:
        lab = _lab(splunk)
        lab.send({"action": "fail"})
        saved = lab.create("search index={index}", receiver.url)
        lab.dispatch(saved)
        fired = wait_for(
            lambda: [f for f in lab.fired(saved.name) if f["webhook_status"] == "failed"]
        )[0]
        assert fired["webhook_http_status"] == "404" and fired["webhook_attempts"] == "1"
        assert len(receiver.payloads) == 1
